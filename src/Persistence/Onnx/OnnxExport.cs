using NanoNet.Layers;
using NanoNet.Persistence.Onnx;

namespace NanoNet.Persistence;

/// <summary>
/// Export to ONNX, so a model trained with NanoNet runs in ONNX Runtime, ML.NET, Windows ML or a browser:
/// <c>model.ExportOnnx("model.onnx")</c>. The file is an ONNX model (IR version 8, opset 17) written by
/// NanoNet's own protobuf writer, weights as float32 initializers. It takes and returns tensors in
/// NanoNet's layout — batch first, channels last: NHWC images, token ids as float32 — and says so in its
/// metadata (<c>nanonet.input_layout</c>). How each layer maps: docs/onnx.md.
/// </summary>
/// <example>
/// <code>
/// model.Fit(train, epochs: 10);
/// model.ExportOnnx("cifar10.onnx");
/// // C#: using var session = new InferenceSession("cifar10.onnx");   inputs (N, 32, 32, 3)
/// </code>
/// </example>
public static class OnnxExport
{
    extension(Model model)
    {
        /// <summary>
        /// Writes the model, with its current weights, as an ONNX file at <paramref name="path"/>, replacing
        /// it if it exists: written to a temporary file beside it first, then renamed, so a failed export
        /// never leaves half a file.
        /// </summary>
        /// <exception cref="InvalidOperationException">The model is not compiled (its weights have no values yet).</exception>
        /// <exception cref="NotSupportedException">A layer cannot be expressed in ONNX: a custom layer, a stateful LSTM, or an LSTM reading an Embedding's padding mask (the message names the layer).</exception>
        public void ExportOnnx(string path)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(path);
            ProtobufWriter bytes = Serialize(model);
            string temporary = path + ".tmp";
            try
            {
                using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
                {
                    bytes.CopyTo(file);
                    file.Flush(flushToDisk: true);
                }
                File.Move(temporary, path, overwrite: true);
            }
            finally
            {
                File.Delete(temporary); // nothing left behind if writing or renaming failed
            }
        }

        /// <summary>Writes the model as ONNX to <paramref name="stream"/> (e.g. to hand it to an inference session from memory).</summary>
        /// <exception cref="InvalidOperationException">The model is not compiled.</exception>
        /// <exception cref="NotSupportedException">A layer cannot be expressed in ONNX (the message names it).</exception>
        public void ExportOnnx(Stream stream)
        {
            ArgumentNullException.ThrowIfNull(stream);
            Serialize(model).CopyTo(stream);
        }
    }

    private static ProtobufWriter Serialize(Model model)
    {
        OnnxModel onnx = OnnxExporter.Build(model);
        var writer = new ProtobufWriter(1 << 16);
        onnx.WriteTo(writer);
        return writer;
    }
}
