using NanoNet.Layers;

namespace NanoNet.Persistence;

/// <summary>
/// <c>model.SaveWeights(path)</c> and <c>model.LoadWeights(path)</c>: a model's weights in a safetensors
/// file, one F32 tensor per weight named <c>{layer}/{weight}</c> (e.g. <c>conv2d/kernel</c>,
/// <c>lstm/recurrent_kernel</c>). F16 and BF16 tensors load by conversion, so weights from elsewhere can
/// be brought in under these names.
/// </summary>
public static class WeightFiles
{
    /// <summary>The <c>format</c> metadata value of a weights file.</summary>
    public const string Format = "nanonet.weights";

    extension(Model model)
    {
        /// <summary>Writes every weight (trainable or frozen) to a safetensors file at <paramref name="path"/>, replacing it atomically.</summary>
        /// <exception cref="InvalidOperationException">The model has not been compiled (its weights have no values yet).</exception>
        public void SaveWeights(string path)
        {
            ArgumentNullException.ThrowIfNull(model);
            SafeTensorsWriter.Write(path, WeightMatching.Named(model), new Dictionary<string, string> { ["format"] = Format });
        }

        /// <summary>
        /// Loads the weights from a safetensors file: every weight of the model must be in the file, with the
        /// same shape, and the file must hold nothing else. Afterwards the model predicts without compiling,
        /// and compiling keeps these weights.
        /// </summary>
        /// <exception cref="InvalidDataException">The file is malformed, or names, dtypes or shapes differ (all are listed); the model is unchanged.</exception>
        public void LoadWeights(string path)
        {
            ArgumentNullException.ThrowIfNull(model);
            WeightMatching.Apply(model, SafeTensorsReader.Read(path));
        }

        /// <summary>Like <see cref="LoadWeights(Model, string)"/>, from a seekable stream; <paramref name="fileName"/> names it in errors.</summary>
        /// <exception cref="InvalidDataException">The bytes are malformed, or names, dtypes or shapes differ; the model is unchanged.</exception>
        public void LoadWeights(Stream stream, string fileName)
        {
            ArgumentNullException.ThrowIfNull(model);
            WeightMatching.Apply(model, SafeTensorsReader.Read(stream, fileName));
        }
    }
}
