using NanoNet.Layers;

namespace NanoNet.Onnx.Tests;

/// <summary>Each layer type alone in a tiny model, in several configurations: NanoNet and ONNX Runtime agree.</summary>
public class LayerExportTests
{
    private const int Rows = 5;

    /// <summary>Every activation function NanoNet has: each must export.</summary>
    private static readonly ActivationFunction[] EveryActivation = Enum.GetValues<ActivationFunction>();

    private static float Agreement(Layer layer, int[] inputShape, int seed = 1)
    {
        Model model = OnnxAgreement.Compiled(new Sequential(inputShape, layer), seed);
        return OnnxAgreement.MaxAbsError(model, OnnxAgreement.RandomBatch(model.Inputs[0], Rows, seed + 100, -2f, 2f));
    }

    [TestCaseSource(nameof(EveryActivation))]
    public void Dense(ActivationFunction activation) =>
        Assert.That(Agreement(new Layers.Dense(7, activation), [12]), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));

    [TestCase(ActivationFunction.Linear)]
    [TestCase(ActivationFunction.Relu)]
    [TestCase(ActivationFunction.Softmax)]
    public void DenseOnSequences(ActivationFunction activation) =>
        Assert.That(Agreement(new Layers.Dense(6, activation), [4, 9]), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));

    [Test]
    public void DenseOnImages() =>
        Assert.That(Agreement(new Layers.Dense(4, ActivationFunction.Tanh), [3, 5, 2]), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));

    [Test]
    public void ParametricActivationLayers()
    {
        Assert.That(Agreement(new Layers.LeakyRelu(0.1f), [3, 4, 6]), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
        Assert.That(Agreement(new Layers.Elu(0.7f), [10]), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
        Assert.That(Agreement(new Layers.Softmax(), [3, 5]), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
        Assert.That(Agreement(new Layers.Softmax(axis: 1), [3, 5]), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance), "softmax over the middle axis");
    }

    [TestCaseSource(nameof(EveryActivation))]
    public void Activation(ActivationFunction function)
    {
        Assert.That(Agreement(new Layers.Activation(function), [10]), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
        Assert.That(Agreement(new Layers.Activation(function), [3, 4, 6]), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance), "rank-4 input, last axis");
    }

    /// <summary>Dropout exports as Identity: the model's inference output, with a Dense on each side.</summary>
    [Test]
    public void Dropout()
    {
        Model model = OnnxAgreement.Compiled(new Sequential([8], new Layers.Dense(6, ActivationFunction.Relu), new Layers.Dropout(0.5f, seed: 3), new Layers.Dense(4)));
        Assert.That(OnnxAgreement.MaxAbsError(model, OnnxAgreement.RandomBatch(model.Inputs[0], Rows, 7, -2f, 2f)), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
    }

    // Image sizes chosen so "same" padding is asymmetric (the odd row and column at the bottom and right) or zero.
    [TestCase(3, 1, "valid", ActivationFunction.Linear, 9, 9)]
    [TestCase(3, 1, "same", ActivationFunction.Relu, 9, 9)]
    [TestCase(3, 2, "same", ActivationFunction.Relu, 8, 8)]
    [TestCase(2, 2, "same", ActivationFunction.Sigmoid, 7, 7)]
    [TestCase(4, 3, "same", ActivationFunction.Tanh, 10, 7)]
    [TestCase(1, 2, "same", ActivationFunction.Linear, 5, 6)]
    [TestCase(5, 3, "valid", ActivationFunction.Relu, 12, 11)]
    [TestCase(3, 1, "same", ActivationFunction.Softmax, 6, 6)]
    [TestCase(3, 1, "same", ActivationFunction.LeakyRelu, 6, 6)]
    [TestCase(3, 1, "same", ActivationFunction.Elu, 6, 6)]
    [TestCase(3, 1, "same", ActivationFunction.Selu, 6, 6)]
    [TestCase(3, 1, "same", ActivationFunction.Gelu, 6, 6)]
    [TestCase(3, 1, "same", ActivationFunction.Silu, 6, 6)]
    [TestCase(3, 1, "same", ActivationFunction.Softplus, 6, 6)]
    [TestCase(3, 1, "same", ActivationFunction.Softsign, 6, 6)]
    [TestCase(3, 1, "same", ActivationFunction.HardSigmoid, 6, 6)]
    public void Conv2D(int kernel, int stride, string padding, ActivationFunction activation, int height, int width) =>
        Assert.That(Agreement(new Layers.Conv2D(6, kernel, stride, padding, activation), [height, width, 3]),
            Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));

    [TestCase(2, null, "valid", 8, 8)]
    [TestCase(2, null, "valid", 9, 7)]
    [TestCase(3, 2, "same", 8, 8)]
    [TestCase(3, 2, "valid", 9, 9)]
    [TestCase(2, 1, "same", 5, 6)]
    [TestCase(3, 3, "same", 7, 8)]
    public void MaxPool2D(int pool, int? stride, string padding, int height, int width) =>
        Assert.That(Agreement(new Layers.MaxPool2D(pool, stride, padding), [height, width, 4]), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));

    [Test]
    public void ConvolutionThenPoolingSharesTheChannelsFirstValue()
    {
        var model = new Sequential([10, 10, 3],
            new Layers.Conv2D(4, 3, padding: "same", activation: ActivationFunction.Relu), new Layers.MaxPool2D(2),
            new Layers.Conv2D(5, 3, stride: 2), new Layers.MaxPool2D(2, padding: "same"), new Flatten());
        OnnxAgreement.Compiled(model);
        Assert.That(OnnxAgreement.MaxAbsError(model, OnnxAgreement.RandomBatch(model.Inputs[0], Rows, 7)), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
    }

    [Test]
    public void Flatten()
    {
        Assert.That(Agreement(new Layers.Flatten(), [4, 5, 3]), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
        Assert.That(Agreement(new Layers.Flatten(), [6, 2]), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
    }

    [Test]
    public void GlobalPooling()
    {
        Assert.That(Agreement(new GlobalAveragePooling2D(), [4, 5, 3]), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
        Assert.That(Agreement(new GlobalMaxPooling2D(), [4, 5, 3]), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
        Assert.That(Agreement(new GlobalAveragePooling1D(), [7, 4]), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
        Assert.That(Agreement(new GlobalMaxPooling1D(), [7, 4]), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
    }

    [Test]
    public void ConvolutionThenGlobalAveragePooling()
    {
        var model = new Sequential([8, 8, 3], new Layers.Conv2D(4, 3, activation: ActivationFunction.Relu), new GlobalAveragePooling2D(), new Layers.Dense(2));
        OnnxAgreement.Compiled(model);
        Assert.That(OnnxAgreement.MaxAbsError(model, OnnxAgreement.RandomBatch(model.Inputs[0], Rows, 5)), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
    }

    [Test]
    public void Reshape()
    {
        Assert.That(Agreement(new Layers.Reshape([3, -1]), [4, 6]), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
        Assert.That(Agreement(new Layers.Reshape([2, 2, 6]), [24]), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
    }

    [Test]
    public void Permute()
    {
        Assert.That(Agreement(new Layers.Permute([2, 1]), [3, 5]), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
        Assert.That(Agreement(new Layers.Permute([3, 1, 2]), [2, 3, 4]), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
    }

    [Test]
    public void RepeatVector()
    {
        Assert.That(Agreement(new Layers.RepeatVector(4), [6]), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
        var model = new Sequential([5], new Layers.Dense(3), new Layers.RepeatVector(4), new Layers.Lstm(2, returnSequences: true));
        OnnxAgreement.Compiled(model);
        Assert.That(OnnxAgreement.MaxAbsError(model, OnnxAgreement.RandomBatch(model.Inputs[0], Rows, 6)), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
    }

    [TestCase(1)]
    [TestCase(2)]
    public void Embedding(int idRank)
    {
        int[] shape = idRank == 1 ? [7] : [3, 4];
        Model model = OnnxAgreement.Compiled(new Sequential(shape, new Layers.Embedding(50, 6)));
        Tensor ids = OnnxAgreement.RandomIds(model.Inputs[0], Rows, 50, 3);
        Assert.That(OnnxAgreement.MaxAbsError(model, ids), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
    }

    [TestCase(4, false, 5, 3)]
    [TestCase(4, true, 5, 3)]
    [TestCase(8, false, 12, 1)]
    [TestCase(16, true, 9, 10)]
    public void Lstm(int units, bool returnSequences, int steps, int features) =>
        Assert.That(Agreement(new Layers.Lstm(units, returnSequences), [steps, features]), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));

    [Test]
    public void StackedLstms()
    {
        var model = new Sequential([6, 3], new Layers.Lstm(5, returnSequences: true), new Layers.Lstm(4), new Layers.Dense(2));
        OnnxAgreement.Compiled(model);
        Assert.That(OnnxAgreement.MaxAbsError(model, OnnxAgreement.RandomBatch(model.Inputs[0], Rows, 4)), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
    }

    [TestCase("add", 2)]
    [TestCase("add", 3)]
    [TestCase("subtract", 2)]
    [TestCase("multiply", 2)]
    [TestCase("multiply", 3)]
    public void ElementwiseMerge(string kind, int count)
    {
        Input[] inputs = [.. Enumerable.Range(0, count).Select(i => new Input([3, 4], $"in{i}"))];
        MergeLayer merge = kind switch
        {
            "add" => new Layers.Add(),
            "subtract" => new Subtract(),
            _ => new Layers.Multiply(),
        };
        Model model = OnnxAgreement.Compiled(new Model(inputs, [merge.Call(inputs)]));
        Tensor[] batches = [.. inputs.Select((input, i) => OnnxAgreement.RandomBatch(input, Rows, 10 + i))];
        Assert.That(OnnxAgreement.MaxAbsError(model, batches), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
    }

    [TestCase(-1)]
    [TestCase(1)]
    [TestCase(2)]
    public void Concatenate(int axis)
    {
        var a = new Input([3, 4], "a");
        var b = new Input(axis == 1 ? [2, 4] : [3, 5], "b");
        Model model = OnnxAgreement.Compiled(new Model([a, b], [new Layers.Concatenate(axis).Call(a, b)]));
        Assert.That(OnnxAgreement.MaxAbsError(model, OnnxAgreement.RandomBatch(a, Rows, 1), OnnxAgreement.RandomBatch(b, Rows, 2)),
            Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
    }
}
