using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Persistence;

namespace NanoNet.Docs.Samples;

/// <summary>The export sample of docs/onnx.md.</summary>
public static class OnnxSamples
{
    /// <summary>Trains, then writes the model as ONNX.</summary>
    public static void TrainAndExport(Model model, Dataset train)
    {
        #region export
        model.Fit(train, epochs: 10);
        model.ExportOnnx("cifar10.onnx");   // or model.ExportOnnx(stream)
        #endregion
    }
}
