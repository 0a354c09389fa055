using NanoNet.Data;
using NanoNet.Kernels;
using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Tests;

/// <summary>The BatchNormalization and LayerNormalization layers: Keras's weights, modes and moving statistics, other axes, configs.</summary>
public class NormalizationLayerTests
{
    private static void RoundTrips(Layer layer)
    {
        LayerConfig config = layer.GetConfig();
        Layer copy = LayerRegistry.Create(config);
        Assert.That(copy.GetType(), Is.EqualTo(layer.GetType()));
        Assert.That(copy.GetConfig().ToString(), Is.EqualTo(config.ToString()));
    }

    [Test]
    public void BatchNormalizationHasKerasWeightsAndOnlyGammaAndBetaTrain()
    {
        var layer = new BatchNormalization(name: "bn");
        layer.Build([4, 4, 3], new RandomStream(1));
        Assert.That(layer.Weights.Select(w => w.Name), Is.EqualTo(new[] { "bn/gamma", "bn/beta", "bn/moving_mean", "bn/moving_variance" }));
        Assert.That(layer.Parameters, Is.EqualTo(new[] { layer.Gamma, layer.Beta }));
        Assert.That(layer.NonTrainableParameterCount, Is.EqualTo(6));
        Assert.That(layer.Gamma!.ToArray(), Is.EqualTo(new[] { 1f, 1f, 1f }));
        Assert.That(layer.MovingVariance.ToArray(), Is.EqualTo(new[] { 1f, 1f, 1f }));
        Assert.That(layer.MovingMean.RequiresGrad, Is.False);

        var bare = new BatchNormalization(center: false, scale: false, name: "bare");
        bare.Build([5]);
        Assert.That(bare.Weights.Select(w => w.Name), Is.EqualTo(new[] { "bare/moving_mean", "bare/moving_variance" }));
        Assert.That(bare.Parameters, Is.Empty);
    }

    [Test]
    public void BatchNormalizationTrainsOnBatchStatisticsAndPredictsWithTheMovingOnes()
    {
        var layer = new BatchNormalization(momentum: 0.5f);
        layer.Build([3], new RandomStream(1));
        Tensor x = Tensor.RandomNormal([8, 3], 4f, 3f, 2);
        Tensor y = layer.Forward(x, training: true);
        float[] mean = new float[3], variance = new float[3];
        BatchNormReference.Statistics(x.Span, 8, 3, mean, variance);
        for (int c = 0; c < 3; c++)
        {
            double column = Enumerable.Range(0, 8).Sum(r => (double)y[r * 3 + c]);
            Assert.That(column / 8, Is.EqualTo(0).Within(1e-5), "batch-normalised mean");
            Assert.That(layer.MovingMean[c], Is.EqualTo(0.5f * mean[c]).Within(1e-5), "moving mean after one step from 0");
            Assert.That(layer.MovingVariance[c], Is.EqualTo(0.5f + 0.5f * variance[c]).Within(1e-4), "moving variance after one step from 1");
        }

        Tensor inference = layer.Forward(x, training: false);
        var expected = new float[x.Length];
        BatchNormReference.Forward(x.Span, 8, 3, layer.MovingMean.Span, layer.MovingVariance.Span, layer.Gamma!.Span, layer.Beta!.Span, 1e-3f, expected);
        Assert.That(inference.ToArray(), Is.EqualTo(expected).Within(1e-5f));
    }

    [Test]
    public void AFrozenBatchNormalizationRunsInInferenceModeWhileTraining()
    {
        var layer = new BatchNormalization();
        layer.Build([3], new RandomStream(1));
        layer.Trainable = false;
        Tensor x = Tensor.RandomNormal([8, 3], 4f, 3f, 2);
        Tensor y = layer.Forward(x, training: true);
        Assert.That(layer.MovingMean.ToArray(), Is.EqualTo(new[] { 0f, 0f, 0f }), "no update");
        Assert.That(y.ToArray(), Is.EqualTo(layer.Forward(x, training: false).ToArray()), "Keras: trainable = False means inference mode");
    }

    [Test]
    public void BatchNormalizationOnAnotherAxisEqualsChannelsLastOnThePermutedInput()
    {
        var channelsFirst = new BatchNormalization(axis: 1, name: "first");
        channelsFirst.Build([4, 5], new RandomStream(1)); // (N, C = 4, L = 5)
        var channelsLast = new BatchNormalization(name: "last");
        channelsLast.Build([5, 4], new RandomStream(1));
        Tensor x = Tensor.RandomNormal([3, 4, 5], 1f, 2f, 3);
        Tensor y = channelsFirst.Forward(x, training: true);
        Tensor expected = Ops.Permute(channelsLast.Forward(Ops.Permute(x, 0, 2, 1), training: true), 0, 2, 1);
        Assert.That(y.ToArray(), Is.EqualTo(expected.ToArray()).Within(1e-6f));
        Assert.That(channelsFirst.MovingMean.ToArray(), Is.EqualTo(channelsLast.MovingMean.ToArray()).Within(1e-6f));
        GradientCheck.Check(t => channelsFirst.Forward(t[0], training: true), [GradientCheck.Random([2, 4, 5], 4)]);
    }

    [Test]
    public void LayerGradientsIncludeGammaAndBeta()
    {
        var batchNorm = new BatchNormalization();
        batchNorm.Build([3, 4], new RandomStream(1));
        GradientCheck.Check(t => batchNorm.Forward(t[0], training: true), [GradientCheck.Random([2, 3, 4], 5), batchNorm.Gamma!, batchNorm.Beta!]);
        var layerNorm = new LayerNormalization();
        layerNorm.Build([3, 6], new RandomStream(1));
        GradientCheck.Check(t => layerNorm.Forward(t[0], training: true), [GradientCheck.Random([2, 3, 6], 6), layerNorm.Gamma!, layerNorm.Beta!]);
    }

    [Test]
    public void LayerNormalizationHasKerasWeightsAndNormalisesEachStep()
    {
        var layer = new LayerNormalization(name: "ln");
        layer.Build([3, 6], new RandomStream(1));
        Assert.That(layer.Weights.Select(w => w.Name), Is.EqualTo(new[] { "ln/gamma", "ln/beta" }));
        Tensor x = Tensor.RandomNormal([2, 3, 6], 5f, 3f, 7);
        Tensor y = layer.Forward(x, training: true);
        Assert.That(y.ToArray(), Is.EqualTo(layer.Forward(x).ToArray()), "training and inference agree");
        for (int row = 0; row < 6; row++)
        {
            float[] values = y.ToArray()[(row * 6)..(row * 6 + 6)];
            Assert.That(values.Average(), Is.EqualTo(0).Within(1e-5));
            Assert.That(values.Select(v => (double)v * v).Average(), Is.EqualTo(1).Within(0.01), "unit variance up to ε");
        }
        var e = Assert.Throws<ArgumentException>(() => new LayerNormalization(axis: 1, name: "wrong").Build([3, 6]));
        Assert.That(e!.Message, Does.Contain("'wrong'").And.Contain("(None, 3, 6)"));
    }

    [Test]
    public void ConfigsRoundTrip()
    {
        RoundTrips(new BatchNormalization(axis: 1, momentum: 0.9f, epsilon: 1e-5f, center: false, scale: true, name: "bn"));
        RoundTrips(new BatchNormalization());
        RoundTrips(new LayerNormalization(epsilon: 1e-6f, center: true, scale: false, name: "ln"));
    }

    [Test]
    public void AConvNetWithBatchNormalizationTrainsAndItsMovingStatisticsFollowTheData()
    {
        var model = new Sequential([8, 8, 3],
            new Conv2D(8, 3, padding: "same"), new BatchNormalization(momentum: 0.9f, name: "bn"), new Activation(ActivationFunction.Relu),
            new GlobalAveragePooling2D(), new Dense(2, ActivationFunction.Softmax)) { Output = TextWriter.Null };
        model.Compile(new Adam(0.01f), new SparseCategoricalCrossEntropy(), seed: 1);
        // Class = whether the red channel is brighter than the blue one; inputs far from zero mean.
        Tensor images = Tensor.RandomUniform([256, 8, 8, 3], 2f, 4f, 3);
        var labels = new float[256];
        for (int n = 0; n < 256; n++)
        {
            float shift = n % 2 == 0 ? 0.5f : -0.5f;
            for (int p = 0; p < 64; p++)
                images[(n * 64 + p) * 3] += shift;
            labels[n] = n % 2;
        }
        var data = new Dataset(images, Tensor.FromArray(labels, 256));
        TrainingHistory history = model.Fit(data, batchSize: 32, epochs: 8, verbose: 0);
        Assert.That(model.Evaluate(data).Accuracy, Is.GreaterThan(0.9f));
        Assert.That(history.Epochs[^1].Loss, Is.LessThan(history.Epochs[0].Loss * 0.5f));
        var bn = (BatchNormalization)model.GetLayer("bn");
        Assert.That(bn.MovingMean.ToArray().Select(Math.Abs).Max(), Is.GreaterThan(0.1f), "the moving mean left zero");
        Assert.That(model.Optimizer!.GetState().Select(s => s.ParameterName), Has.None.Contains("moving"), "the optimizer never sees the moving statistics");
    }
}
