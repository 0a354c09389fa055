using Microsoft.ML.OnnxRuntime;
using NanoNet.Layers;
using NanoNet.Persistence;

namespace NanoNet.Onnx.Tests;

/// <summary>
/// The ONNX Runtime sample of docs/onnx.md (the page shows the region below; tests/Docs checks it is the
/// same text), run here on an exported seed model so the sample is known to work.
/// </summary>
public class OnnxRuntimeSample
{
    private static (float[] Probabilities, string Layout) Classify(float[] pixels)
    {
        #region run-with-onnx-runtime
        using var session = new InferenceSession("cifar10.onnx");
        using var input = OrtValue.CreateTensorValueFromMemory(pixels, [8, 32, 32, 3]);   // 8 images, NHWC, in [0, 1]
        using var options = new RunOptions();
        using var results = session.Run(options, new Dictionary<string, OrtValue> { ["input"] = input }, session.OutputNames);
        ReadOnlySpan<float> probabilities = results[0].GetTensorDataAsSpan<float>();   // (8, 10)
        string layout = session.ModelMetadata.CustomMetadataMap["nanonet.input_layout"]; // "NHWC"
        #endregion
        return (probabilities.ToArray(), layout);
    }

    [Test]
    public void TheDocumentedSampleRunsAnExportedModel()
    {
        var model = new Sequential([32, 32, 3], new Conv2D(8, 3, activation: ActivationFunction.Relu), new MaxPool2D(2),
            new Flatten(), new Dense(10, ActivationFunction.Softmax));
        OnnxAgreement.Compiled(model);
        string folder = Path.Combine(Path.GetTempPath(), "nanonet-onnx-sample");
        Directory.CreateDirectory(folder);
        string previous = Environment.CurrentDirectory;
        Environment.CurrentDirectory = folder; // the sample opens "cifar10.onnx"
        try
        {
            model.ExportOnnx("cifar10.onnx");
            float[] pixels = Tensor.RandomUniform([8, 32, 32, 3], 0, 1, 3).ToArray();
            (float[] probabilities, string layout) = Classify(pixels);
            Tensor expected = model.Predict(Tensor.FromArray(pixels, 8, 32, 32, 3));
            Assert.That(layout, Is.EqualTo("NHWC"));
            Assert.That(probabilities, Is.EqualTo(expected.ToArray()).Within(1e-5f));
        }
        finally
        {
            Environment.CurrentDirectory = previous;
        }
    }
}
