using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using NanoNet.Layers;
using NanoNet.Persistence;

namespace NanoNet.Onnx.Tests;

/// <summary>The seed models and a Functional graph, exported to files: ONNX Runtime loads them, reads their metadata and agrees with NanoNet.</summary>
public class ModelExportTests
{
    /// <summary>Where the exported seed models are left (for a look with other tools, e.g. Python's onnx.checker).</summary>
    private static string ExportFolder
    {
        get
        {
            string folder = Path.Combine(Path.GetTempPath(), "nanonet-onnx-tests");
            Directory.CreateDirectory(folder);
            return folder;
        }
    }

    private static InferenceSession ExportAndLoad(Model model, string fileName)
    {
        string path = Path.Combine(ExportFolder, fileName);
        var clock = Stopwatch.StartNew();
        model.ExportOnnx(path);
        clock.Stop();
        TestContext.Out.WriteLine($"{path}: {new FileInfo(path).Length:N0} bytes, exported in {clock.Elapsed.TotalMilliseconds:F0} ms");
        return new InferenceSession(path);
    }

    /// <summary>examples/Cifar10's model.</summary>
    [Test]
    public void Cifar10SeedModel()
    {
        var model = new Sequential([32, 32, 3],
            new Conv2D(32, 3, activation: ActivationFunction.Relu),
            new MaxPool2D(2),
            new Flatten(),
            new Dense(128, ActivationFunction.Relu),
            new Dense(10, ActivationFunction.Softmax));
        OnnxAgreement.Compiled(model);
        using InferenceSession session = ExportAndLoad(model, "cifar10_seed.onnx");
        Tensor images = OnnxAgreement.RandomBatch(model.Inputs[0], 8, 5, 0f, 1f);

        float error = OnnxAgreement.MaxAbsError(session, model, [images]);

        TestContext.Out.WriteLine($"CIFAR-10 seed: max abs error {error:E2}");
        Assert.That(error, Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
        Assert.That(session.ModelMetadata.ProducerName, Is.EqualTo("NanoNet"));
        Assert.That(session.ModelMetadata.CustomMetadataMap["nanonet.input_layout"], Is.EqualTo("NHWC"));
        Assert.That(session.InputMetadata["input"].Dimensions, Is.EqualTo(new[] { -1, 32, 32, 3 }), "free batch axis, NHWC");
    }

    /// <summary>examples/TextLstm's IMDB model, full vocabulary (the time goes into the 200 LSTM steps, not the table).</summary>
    [Test]
    public void ImdbSeedModel()
    {
        const int vocabulary = 20_000;
        var model = new Sequential([200],
            new Embedding(vocabulary, 128),
            new Lstm(128),
            new Dense(2, ActivationFunction.Softmax));
        OnnxAgreement.Compiled(model);
        using InferenceSession session = ExportAndLoad(model, "imdb_seed.onnx");
        Tensor reviews = OnnxAgreement.RandomIds(model.Inputs[0], 4, vocabulary, 6);

        float error = OnnxAgreement.MaxAbsError(session, model, [reviews]);

        TestContext.Out.WriteLine($"IMDB seed: max abs error {error:E2}");
        Assert.That(error, Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
        Assert.That(session.ModelMetadata.CustomMetadataMap["nanonet.input_layout"], Does.StartWith("NT (token ids"));
    }

    /// <summary>Two inputs, a layer shared by both branches, every merge, two outputs.</summary>
    [Test]
    public void FunctionalModelWithTwoInputsASharedLayerAndMerges()
    {
        var left = new Input([6], "left");
        var right = new Input([6], "right");
        var shared = new Dense(5, ActivationFunction.Tanh, name: "shared");
        SymbolicTensor l = shared.Call(left), r = shared.Call(right);
        SymbolicTensor sum = new Add().Call(l, r);
        SymbolicTensor difference = new Subtract().Call(l, r);
        SymbolicTensor product = new Multiply().Call(sum, difference);
        SymbolicTensor joined = new Concatenate().Call(product, l, new Dense(3, ActivationFunction.Relu).Call(right));
        SymbolicTensor classes = new Dense(4, ActivationFunction.Softmax, name: "classes").Call(joined);
        SymbolicTensor score = new Dense(1, ActivationFunction.Sigmoid, name: "score").Call(sum);
        Model model = OnnxAgreement.Compiled(new Model([left, right], [classes, score], "two_inputs"));
        using InferenceSession session = ExportAndLoad(model, "functional.onnx");

        float error = OnnxAgreement.MaxAbsError(session, model,
            [OnnxAgreement.RandomBatch(left, 6, 1), OnnxAgreement.RandomBatch(right, 6, 2)]);

        TestContext.Out.WriteLine($"Functional: max abs error {error:E2}");
        Assert.That(error, Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
        Assert.That(session.InputNames, Is.EqualTo(new[] { "left", "right" }));
        Assert.That(session.OutputNames, Is.EqualTo(new[] { "classes", "score" }));
        Assert.That(session.ModelMetadata.CustomMetadataMap["nanonet.input_layout"], Is.EqualTo("left: NC; right: NC"));
    }

    [Test]
    public void AnOutputThatIsAnInputOrListedTwiceStillExports()
    {
        var x = new Input([3], "x");
        SymbolicTensor y = new Dense(2, name: "y").Call(x);
        Model model = OnnxAgreement.Compiled(new Model([x], [y, y, x]));
        Assert.That(OnnxAgreement.MaxAbsError(model, OnnxAgreement.RandomBatch(x, 4, 1)), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
    }
}
