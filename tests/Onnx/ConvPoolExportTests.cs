using NanoNet.Layers;

namespace NanoNet.Onnx.Tests;

/// <summary>The convolution and pooling layers beyond the seed's, each alone in a tiny model: NanoNet and ONNX Runtime agree.</summary>
public class ConvPoolExportTests
{
    private const int Rows = 5;

    private static float Agreement(Layer layer, int[] inputShape, int seed = 1)
    {
        Model model = OnnxAgreement.Compiled(new Sequential(inputShape, layer), seed);
        return OnnxAgreement.MaxAbsError(model, OnnxAgreement.RandomBatch(model.Inputs[0], Rows, seed + 100, -2f, 2f));
    }

    // Sequence lengths chosen so "same" padding is asymmetric and strides leave a remainder.
    [TestCase(5, 1, "valid", 1, ActivationFunction.Relu, 20)]
    [TestCase(3, 2, "same", 1, ActivationFunction.Linear, 11)]
    [TestCase(4, 1, "same", 2, ActivationFunction.Tanh, 10)]
    [TestCase(3, 1, "causal", 2, ActivationFunction.Relu, 9)]
    [TestCase(2, 3, "causal", 3, ActivationFunction.Sigmoid, 13)]
    [TestCase(3, 2, "valid", 2, ActivationFunction.Softmax, 12)]
    public void Conv1D(int kernel, int stride, string padding, int dilation, ActivationFunction activation, int steps) =>
        Assert.That(Agreement(new Layers.Conv1D(6, kernel, stride, padding, activation, dilation), [steps, 3]), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));

    [TestCase(4, null, "valid", 24)]
    [TestCase(4, null, "valid", 23)]
    [TestCase(3, 2, "same", 10)]
    [TestCase(2, 1, "same", 7)]
    public void MaxPooling1D(int pool, int? stride, string padding, int steps) =>
        Assert.That(Agreement(new Layers.MaxPooling1D(pool, stride, padding), [steps, 4]), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));

    [TestCase(2, 3, 1, 2, 1, 1, "valid", 9, 11)]
    [TestCase(3, 3, 1, 1, 2, 2, "same", 10, 9)]
    [TestCase(3, 2, 2, 3, 2, 1, "same", 11, 12)]
    [TestCase(1, 5, 1, 2, 1, 3, "valid", 6, 17)]
    public void RectangularDilatedConv2D(int kh, int kw, int sh, int sw, int dh, int dw, string padding, int height, int width) =>
        Assert.That(Agreement(new Layers.Conv2D(5, (kh, kw), (sh, sw), padding, ActivationFunction.Relu, (dh, dw)), [height, width, 3]),
            Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));

    [TestCase(2, 3, 1, 2, "valid", 7, 9)]
    [TestCase(3, 2, 2, 1, "same", 8, 7)]
    public void RectangularMaxPool2D(int ph, int pw, int sh, int sw, string padding, int height, int width) =>
        Assert.That(Agreement(new MaxPool2D((ph, pw), (sh, sw), padding), [height, width, 4]), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));

    [TestCase(2, 2, 2, 2, "valid", 8, 8)]
    [TestCase(3, 3, 2, 2, "same", 7, 7)]    // windows overhang the bottom and right edges: count_include_pad = 0
    [TestCase(3, 2, 1, 2, "same", 5, 9)]
    public void AveragePooling2D(int ph, int pw, int sh, int sw, string padding, int height, int width) =>
        Assert.That(Agreement(new Layers.AveragePooling2D((ph, pw), (sh, sw), padding), [height, width, 4]), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));

    [TestCase(4, null, "valid", 23)]
    [TestCase(3, 2, "same", 10)]
    [TestCase(4, 3, "same", 11)]
    public void AveragePooling1D(int pool, int? stride, string padding, int steps) =>
        Assert.That(Agreement(new Layers.AveragePooling1D(pool, stride, padding), [steps, 4]), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));

    [Test]
    public void ZeroPadding2DThenConvolution()
    {
        Assert.That(Agreement(new Layers.ZeroPadding2D((1, 2), (0, 3)), [4, 5, 2]), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
        var model = new Sequential([6, 6, 3], new Layers.ZeroPadding2D(1), new Layers.Conv2D(4, 3, stride: 2), new Layers.AveragePooling2D(2), new Flatten());
        OnnxAgreement.Compiled(model);
        Assert.That(OnnxAgreement.MaxAbsError(model, OnnxAgreement.RandomBatch(model.Inputs[0], Rows, 4)), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
    }

    // Nearest: Resize(asymmetric, floor) must read input ⌊o/s⌋; bilinear: Resize(linear, half_pixel) must clamp at the borders as TensorFlow does.
    [TestCase(2, 2, "nearest", 5, 4)]
    [TestCase(3, 2, "nearest", 4, 5)]
    [TestCase(1, 3, "nearest", 3, 3)]
    [TestCase(2, 2, "bilinear", 5, 4)]
    [TestCase(3, 2, "bilinear", 4, 5)]
    [TestCase(1, 4, "bilinear", 3, 6)]
    public void UpSampling2D(int rows, int columns, string interpolation, int height, int width) =>
        Assert.That(Agreement(new Layers.UpSampling2D((rows, columns), interpolation), [height, width, 3]), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));

    [TestCase(2, 7)]
    [TestCase(3, 5)]
    public void UpSampling1D(int size, int steps) =>
        Assert.That(Agreement(new Layers.UpSampling1D(size), [steps, 4]), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));

    /// <summary>A small decoder: convolutions around both upsamplings and a spatial dropout (Identity at inference).</summary>
    [Test]
    public void DecoderWithUpSamplingAndSpatialDropout()
    {
        var model = new Sequential([4, 4, 3], new Layers.Conv2D(6, 3, padding: "same", activation: ActivationFunction.Relu), new Layers.SpatialDropout2D(0.3f, seed: 2),
            new Layers.UpSampling2D(2, "bilinear"), new Layers.Conv2D(4, 3, padding: "same"), new Layers.UpSampling2D(2), new Layers.Conv2D(2, 1));
        OnnxAgreement.Compiled(model);
        Assert.That(OnnxAgreement.MaxAbsError(model, OnnxAgreement.RandomBatch(model.Inputs[0], Rows, 9)), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
        var sequences = new Sequential([8, 3], new Layers.Conv1D(5, 3, activation: ActivationFunction.Relu), new Layers.SpatialDropout1D(0.4f, seed: 1),
            new Layers.UpSampling1D(2), new Layers.Conv1D(2, 3));
        OnnxAgreement.Compiled(sequences);
        Assert.That(OnnxAgreement.MaxAbsError(sequences, OnnxAgreement.RandomBatch(sequences.Inputs[0], Rows, 10)), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
    }

    [TestCase(3, 1, 1, "same", 1, ActivationFunction.Relu, 8, 8)]
    [TestCase(3, 2, 1, "same", 2, ActivationFunction.Linear, 9, 7)]
    [TestCase(2, 1, 2, "valid", 3, ActivationFunction.Tanh, 8, 9)]
    [TestCase(5, 2, 1, "valid", 1, ActivationFunction.Softmax, 11, 11)]
    public void DepthwiseConv2D(int kernel, int stride, int dilation, string padding, int multiplier, ActivationFunction activation, int height, int width) =>
        Assert.That(Agreement(new Layers.DepthwiseConv2D((kernel, kernel), (stride, stride), padding, multiplier, activation, (dilation, dilation)),
            [height, width, 4]), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));

    [Test]
    public void SeparableConvolutionAsDepthwiseThenPointwise()
    {
        var model = new Sequential([10, 10, 3], new Layers.DepthwiseConv2D(3, padding: "same"), new Layers.Conv2D(8, 1, activation: ActivationFunction.Relu),
            new Layers.MaxPool2D(2), new Layers.DepthwiseConv2D(3, stride: 2, depthMultiplier: 2), new GlobalAveragePooling2D());
        OnnxAgreement.Compiled(model);
        Assert.That(OnnxAgreement.MaxAbsError(model, OnnxAgreement.RandomBatch(model.Inputs[0], Rows, 8)), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
    }

    [Test]
    public void ImdbCnnLstm()
    {
        var model = new Sequential([30], new Embedding(50, 8), new Dropout(0.25f), new Layers.Conv1D(6, 5, activation: ActivationFunction.Relu),
            new Layers.MaxPooling1D(4), new Lstm(5), new Dense(1, ActivationFunction.Sigmoid));
        OnnxAgreement.Compiled(model);
        Assert.That(OnnxAgreement.MaxAbsError(model, OnnxAgreement.RandomIds(model.Inputs[0], Rows, 50, 3)), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
    }
}
