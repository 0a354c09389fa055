using NanoNet.Layers;
using NanoNet.Optim;
using NanoNet.Persistence;
using static NanoNet.Tests.PersistenceModels;

namespace NanoNet.Tests;

/// <summary>
/// The convolution and pooling layers beyond the seed's Conv2D and MaxPool2D: Keras shapes and parameter
/// counts, config round trips, errors that name the layer, and saving to a model file.
/// </summary>
public class ConvPoolLayerTests
{
    private static T Built<T>(T layer, int[] shape) where T : Layer
    {
        layer.Build(shape);
        return layer;
    }

    private static void RoundTrips(Layer layer)
    {
        LayerConfig config = layer.GetConfig();
        Layer copy = LayerRegistry.Create(config);
        Assert.That(copy.GetType(), Is.EqualTo(layer.GetType()));
        Assert.That(copy.GetConfig().ToString(), Is.EqualTo(config.ToString()));
    }

    /// <summary>Keras's imdb_cnn_lstm: Embedding(20000, 128) → Dropout → Conv1D(64, 5, relu) → MaxPooling1D(4) → LSTM(70) → Dense(1).</summary>
    private static Sequential ImdbCnnLstm(int vocabulary = 20_000) => new([100],
        new Embedding(vocabulary, 128), new Dropout(0.25f), new Conv1D(64, 5, activation: ActivationFunction.Relu), new MaxPooling1D(4),
        new Lstm(70), new Dense(1, ActivationFunction.Sigmoid));

    [Test]
    public void ImdbCnnLstmShapesAndParameterCountsMatchKeras()
    {
        Sequential model = ImdbCnnLstm();
        model.Compile(new Adam(), new MeanSquaredError());
        // Keras's summary of the example: conv1d (None, 96, 64) 41,024; max_pooling1d (None, 24, 64) 0.
        Assert.That(model.Layers[2].OutputShape.ToArray(), Is.EqualTo(new[] { 96, 64 }));
        Assert.That(model.Layers[2].ParameterCount, Is.EqualTo(41_024));
        Assert.That(model.Layers[3].OutputShape.ToArray(), Is.EqualTo(new[] { 24, 64 }));
        Assert.That(model.Summary(), Does.Contain("conv1d (Conv1D)").And.Contain("(None, 24, 64)"));
    }

    [TestCase("valid", 1, 1, 16)]
    [TestCase("same", 2, 1, 10)]
    [TestCase("causal", 1, 3, 20)]
    [TestCase("causal", 3, 2, 7)]
    public void Conv1DOutputSteps(string padding, int stride, int dilation, int expectedSteps)
    {
        Conv1D layer = Built(new Conv1D(4, 5, stride, padding, dilationRate: dilation), [20, 3]);
        Assert.That(layer.OutputShape.ToArray(), Is.EqualTo(new[] { expectedSteps, 4 }));
        Assert.That(layer.Kernel.Shape.ToArray(), Is.EqualTo(new[] { 5, 3, 4 }));
    }

    [Test]
    public void Conv1DLayerComputesTheOpWithItsActivation()
    {
        Conv1D layer = Built(new Conv1D(3, 2, padding: "causal", activation: ActivationFunction.Tanh, dilationRate: 2), [6, 4]);
        foreach (Tensor w in layer.Weights)
            Tensor.RandomUniform(w.Shape.ToArray(), -1, 1, w.Length).Span.CopyTo(w.Span);
        Tensor x = Tensor.RandomUniform([2, 6, 4], -1, 1, 3);
        Tensor expected = Ops.Tanh(Ops.Conv1D(x, layer.Kernel, layer.Bias, 1, 2, Kernels.ConvPadding.Causal));
        Assert.That(layer.Forward(x).ToArray(), Is.EqualTo(expected.ToArray()).AsCollection);
    }

    [Test]
    public void ConfigsRoundTrip()
    {
        RoundTrips(new Conv1D(8, 3, 2, "causal", ActivationFunction.Relu, dilationRate: 2, name: "c1"));
        RoundTrips(new Conv1D(8, 3));
        RoundTrips(new MaxPooling1D(4, name: "p1"));
        RoundTrips(new MaxPooling1D(3, 1, "same"));
        RoundTrips(new Conv2D(8, (3, 5), (1, 2), "same", ActivationFunction.Relu, (2, 1), name: "c2"));
        RoundTrips(new Conv2D(8, 3));
        RoundTrips(new MaxPool2D((2, 3), (1, 2), "same"));
        RoundTrips(new MaxPool2D(2));
        RoundTrips(new AveragePooling1D(3, 2, "same", name: "a1"));
        RoundTrips(new AveragePooling2D((3, 2), null, "same", name: "a2"));
        RoundTrips(new ZeroPadding2D((1, 2), (3, 0), name: "z"));
        RoundTrips(new ZeroPadding2D());
        RoundTrips(new DepthwiseConv2D((3, 5), (2, 1), "same", 2, ActivationFunction.Relu, (1, 2), name: "dw"));
        RoundTrips(new DepthwiseConv2D(3));
    }

    [Test]
    public void DepthwiseConv2DHasKerasShapesParameterCountsAndWeightNames()
    {
        // Keras: DepthwiseConv2D(3, depth_multiplier=2) on (32, 32, 64): (None, 30, 30, 128), 3·3·64·2 + 128 = 1,280 parameters.
        var model = new Sequential([32, 32, 64], new DepthwiseConv2D(3, depthMultiplier: 2), new DepthwiseConv2D((3, 3), (2, 2), "same"));
        model.Compile(new Adam(), new MeanSquaredError());
        Assert.That(model.Layers[0].OutputShape.ToArray(), Is.EqualTo(new[] { 30, 30, 128 }));
        Assert.That(model.Layers[0].ParameterCount, Is.EqualTo(1_280));
        Assert.That(model.Layers[1].OutputShape.ToArray(), Is.EqualTo(new[] { 15, 15, 128 }));
        Assert.That(model.Weights.Select(w => w.Name), Is.EqualTo(new[]
            { "depthwise_conv2d/depthwise_kernel", "depthwise_conv2d/bias", "depthwise_conv2d_1/depthwise_kernel", "depthwise_conv2d_1/bias" }));
        Assert.That(((DepthwiseConv2D)model.Layers[0]).Kernel.Shape.ToArray(), Is.EqualTo(new[] { 3, 3, 64, 2 }));
    }

    [Test]
    public void AConvolutionStackWithEveryNewLayerSavesAndPredictsBitIdentically()
    {
        var model = new Sequential([12, 11, 3], new ZeroPadding2D((1, 0), (0, 2)), new Conv2D(4, (3, 2), (1, 2), "same", ActivationFunction.Relu, (2, 1)),
            new DepthwiseConv2D(3, depthMultiplier: 2, activation: ActivationFunction.Tanh), new AveragePooling2D((2, 3), null, "same"),
            new MaxPool2D((2, 1)), new Reshape([-1, 8]), new Conv1D(5, 2, padding: "causal", dilationRate: 2), new AveragePooling1D(2, padding: "same"),
            new MaxPooling1D(2), new Flatten(), new Dense(2));
        model.Compile(new Adam(), new MeanSquaredError(), seed: 4);
        Tensor images = Random([3, 12, 11, 3], seed: 5);
        string path = TemporaryPath();
        try
        {
            model.Save(path);
            Model loaded = Model.Load(path);
            Assert.That(loaded.Layers.Select(l => l.GetConfig().ToString()), Is.EqualTo(model.Layers.Select(l => l.GetConfig().ToString())));
            Assert.That(loaded.Weights.Select(w => w.Name), Is.EqualTo(model.Weights.Select(w => w.Name)));
            Assert.That(BitIdentical(loaded.Predict(images), model.Predict(images)), Is.True);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void ConfigsWrittenWithSingleIntegersStillLoad()
    {
        // Before rectangular kernels, NanoNet wrote Conv2D's kernel_size and strides and MaxPool2D's pool_size as one integer.
        Layer conv = LayerRegistry.Create(new LayerConfig("Conv2D").Set("name", "old").Set("filters", 4).Set("kernel_size", 3).Set("strides", 2)
            .Set("padding", "same").Set("activation", "relu"));
        Assert.That(conv, Is.TypeOf<Conv2D>().With.Property("KernelSize").EqualTo((3, 3)).And.Property("Strides").EqualTo((2, 2))
            .And.Property("DilationRate").EqualTo((1, 1)));
        Layer pool = LayerRegistry.Create(new LayerConfig("MaxPool2D").Set("name", "p").Set("pool_size", 3).Set("strides", 2).Set("padding", "valid"));
        Assert.That(pool, Is.TypeOf<MaxPool2D>().With.Property("PoolSize").EqualTo((3, 3)).And.Property("Strides").EqualTo((2, 2)));
        Layer padding = LayerRegistry.Create(new LayerConfig("ZeroPadding2D").Set("padding", 2));
        Assert.That(padding, Is.TypeOf<ZeroPadding2D>().With.Property("Height").EqualTo((2, 2)).And.Property("Width").EqualTo((2, 2)));
    }

    [Test]
    public void RectangularLayersHaveKerasOutputShapes()
    {
        // Keras: Conv2D(4, (3, 5), strides=(1, 2), dilation_rate=(2, 1)) on 12×15 valid: height 12 − 4 = 8, width ⌊(15 − 5)/2⌋ + 1 = 6.
        Assert.That(Built(new Conv2D(4, (3, 5), (1, 2), dilationRate: (2, 1)), [12, 15, 3]).OutputShape.ToArray(), Is.EqualTo(new[] { 8, 6, 4 }));
        Assert.That(Built(new Conv2D(4, (3, 5), (2, 3), "same"), [11, 13, 3]).OutputShape.ToArray(), Is.EqualTo(new[] { 6, 5, 4 }));
        Assert.That(Built(new MaxPool2D((2, 3)), [7, 10, 5]).OutputShape.ToArray(), Is.EqualTo(new[] { 3, 3, 5 }));
        Assert.That(Built(new AveragePooling2D((3, 2), (1, 2), "same"), [7, 9, 5]).OutputShape.ToArray(), Is.EqualTo(new[] { 7, 5, 5 }));
        Assert.That(Built(new AveragePooling1D(4), [23, 5]).OutputShape.ToArray(), Is.EqualTo(new[] { 5, 5 }));
        Assert.That(Built(new ZeroPadding2D((1, 2), (0, 3)), [4, 5, 2]).OutputShape.ToArray(), Is.EqualTo(new[] { 7, 8, 2 }));
    }

    [Test]
    public void ZeroPadding2DPutsTheImageAtItsOffsetAndSendsBackItsGradient()
    {
        ZeroPadding2D layer = Built(new ZeroPadding2D((1, 0), (2, 1)), [2, 2, 1]);
        Tensor x = Tensor.FromArray([1, 2, 3, 4], 1, 2, 2, 1);
        Assert.That(layer.Forward(x).ToArray(), Is.EqualTo(new float[]
        {
            0, 0, 0, 0, 0,
            0, 0, 1, 2, 0,
            0, 0, 3, 4, 0,
        }));
        GradientCheck.Check(t => layer.Forward(t[0], training: true), [GradientCheck.Random([3, 2, 2, 1], 1)]);
    }

    [Test]
    public void WrongInputsAreRefusedNamingTheLayer()
    {
        var ex = Assert.Throws<ArgumentException>(() => new Conv1D(4, 3, name: "conv_a").Build([8, 8, 3]));
        Assert.That(ex!.Message, Does.Contain("conv_a").And.Contain("(steps, channels)").And.Contain("(8, 8, 3)"));
        ex = Assert.Throws<ArgumentException>(() => new Conv1D(4, 5, dilationRate: 3, name: "conv_b").Build([10, 2]));
        Assert.That(ex!.Message, Does.Contain("conv_b").And.Contain("(10, 2)"));
        ex = Assert.Throws<ArgumentException>(() => new MaxPooling1D(4, name: "pool_a").Build([3, 2]));
        Assert.That(ex!.Message, Does.Contain("pool_a").And.Contain("(3, 2)"));
        Assert.Throws<ArgumentException>(() => new Conv1D(4, 3, padding: "full"));
        Assert.Throws<ArgumentException>(() => new MaxPooling1D(2, padding: "causal"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Conv1D(4, 0));
    }

    [Test]
    public void TheImdbCnnLstmModelSavesWithKerasWeightNamesAndPredictsBitIdentically()
    {
        Sequential model = ImdbCnnLstm(vocabulary: 500);
        model.Compile(new Adam(), new MeanSquaredError(), seed: 3);
        Tensor tokens = Tokens(4, 100, 500, seed: 7);
        string path = TemporaryPath();
        try
        {
            model.Save(path);
            Model loaded = Model.Load(path);
            Assert.That(loaded.Weights.Select(w => w.Name).Take(3), Is.EqualTo(new[] { "embedding/embeddings", "conv1d/kernel", "conv1d/bias" }));
            Assert.That(loaded.Layers.Select(l => l.GetConfig().ToString()), Is.EqualTo(model.Layers.Select(l => l.GetConfig().ToString())));
            Assert.That(BitIdentical(loaded.Predict(tokens), model.Predict(tokens)), Is.True);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
