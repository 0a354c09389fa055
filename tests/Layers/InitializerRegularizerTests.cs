using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Tests;

/// <summary>Per-layer initializers (Keras's formulas and fans) and kernel/bias regularizers (in the loss and the gradient).</summary>
public class InitializerRegularizerTests
{
    private static float[] Fill(Initializer initializer, int[] shape, ulong seed = 1)
    {
        var values = new float[shape.Aggregate(1, (a, b) => a * b)];
        initializer.Fill(values, shape, new RandomStream(seed));
        return values;
    }

    private static double Std(float[] v) => Math.Sqrt(v.Select(x => (double)x * x).Average() - Math.Pow(v.Average(x => (double)x), 2));

    [Test]
    public void FansFollowKeras()
    {
        Assert.That(Initializer.Fans([30, 20]), Is.EqualTo((30, 20)));
        Assert.That(Initializer.Fans([3, 3, 4, 8]), Is.EqualTo((36, 72)));   // receptive field 9
        Assert.That(Initializer.Fans([7]), Is.EqualTo((7, 7)));
    }

    [TestCase("glorot_uniform", 2.0 / (40 + 60), true)]
    [TestCase("he_uniform", 2.0 / 40, true)]
    [TestCase("lecun_uniform", 1.0 / 40, true)]
    [TestCase("glorot_normal", 2.0 / (40 + 60), false)]
    [TestCase("he_normal", 2.0 / 40, false)]
    [TestCase("lecun_normal", 1.0 / 40, false)]
    public void VarianceScalingHasKerasVarianceAndRange(string name, double variance, bool uniform)
    {
        // Shape (2, 2, 10, 15): receptive field 4, fanIn 40, fanOut 60. Each initializer's variance is scale/fan.
        float[] v = Fill(Initializer.Parse(name), [2, 2, 10, 15]);
        Assert.That(Std(v), Is.EqualTo(Math.Sqrt(variance)).Within(6).Percent, name);
        double bound = uniform ? Math.Sqrt(3 * variance) : 2 * Math.Sqrt(variance) / 0.87962566103423978;
        Assert.That(v.Max(x => Math.Abs(x)), Is.LessThanOrEqualTo(bound + 1e-6), "uniform limit, or the truncation at 2 std");
        Assert.That(v.Max(x => Math.Abs(x)), Is.GreaterThan(0.9 * bound), "the range is used");
    }

    [Test]
    public void ConstantsAndOrthogonal()
    {
        Assert.That(Fill(Initializer.Zeros, [3, 2]), Is.All.EqualTo(0f));
        Assert.That(Fill(Initializer.Ones, [3, 2]), Is.All.EqualTo(1f));
        Assert.That(Fill(Initializer.Constant(-0.25f), [4]), Is.All.EqualTo(-0.25f));
        float[] w = Fill(Initializer.OrthogonalWithGain(2f), [5, 8]); // rows orthogonal, norm 2
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 5; j++)
                Assert.That(Enumerable.Range(0, 8).Sum(k => (double)w[i * 8 + k] * w[j * 8 + k]), Is.EqualTo(i == j ? 4 : 0).Within(1e-5));
    }

    [Test]
    public void LayersUseTheirInitializersThroughAddWeight()
    {
        var dense = new Dense(3) { KernelInitializer = Initializer.Ones, BiasInitializer = Initializer.Constant(0.5f) };
        var embedding = new Embedding(10, 4) { EmbeddingsInitializer = Initializer.Constant(0.125f) };
        var lstm = new Lstm(2) { RecurrentInitializer = Initializer.Zeros, KernelInitializer = Initializer.HeNormal };
        var conv = new Conv2D(2, 3) { KernelInitializer = Initializer.Ones };
        new Sequential([5], embedding, lstm, dense).Compile(new Sgd(), new MeanSquaredError());
        new Sequential([4, 4, 1], conv).Compile(new Sgd(), new MeanSquaredError());
        Assert.That(dense.Kernel.ToArray(), Is.All.EqualTo(1f));
        Assert.That(dense.Bias.ToArray(), Is.All.EqualTo(0.5f));
        Assert.That(embedding.Table.ToArray(), Is.All.EqualTo(0.125f));
        Assert.That(lstm.RecurrentKernel.ToArray(), Is.All.EqualTo(0f));
        Assert.That(lstm.Kernel.ToArray().Distinct().Count(), Is.GreaterThan(10));
        Assert.That(conv.Kernel.ToArray(), Is.All.EqualTo(1f));
        Assert.Throws<InvalidOperationException>(() => dense.KernelInitializer = Initializer.Zeros); // built: too late
    }

    [Test]
    public void SettingsRoundTripThroughTheConfig()
    {
        var dense = new Dense(3, name: "d") { KernelInitializer = Initializer.HeNormal, BiasInitializer = Initializer.Constant(0.5f), KernelRegularizer = Regularizer.L1L2(0.01f, 0.002f), BiasRegularizer = Regularizer.L2(1e-4f) };
        LayerConfig config = dense.GetConfig();
        Assert.That(config.GetString("kernel_initializer"), Is.EqualTo("he_normal"));
        Assert.That(config.GetString("bias_regularizer"), Is.EqualTo("l2(0.0001)"));
        var copy = (Dense)LayerRegistry.Create(config);
        Assert.That(copy.KernelInitializer, Is.SameAs(Initializer.HeNormal));
        Assert.That(copy.BiasInitializer!.ToString(), Is.EqualTo("constant(0.5)"));
        Assert.That(copy.KernelRegularizer!.L1Factor, Is.EqualTo(0.01f));
        Assert.That(copy.KernelRegularizer.L2Factor, Is.EqualTo(0.002f));
        Assert.That(copy.BiasRegularizer!.ToString(), Is.EqualTo("l2(0.0001)"));
        Assert.That(new Dense(3).GetConfig().Contains("kernel_initializer"), Is.False); // defaults are not written
        var e = Assert.Throws<ArgumentException>(() => Initializer.Parse("glorot"));
        Assert.That(e!.Message, Does.Contain("glorot_uniform"));
    }

    [Test]
    public void WeightPenaltyGradient() =>
        GradientCheck.Check(x => Ops.WeightPenalty(x[0], 0.3f, 0.7f), [GradientCheck.Random([4, 3], 9, awayFromZero: 0.05f)]);

    [Test]
    public void PenaltyIsInTheReportedLossAndItsGradientInTheUpdate()
    {
        // Dense(2) on one example: loss = MSE + 0.1·Σk² + 0.5·Σ|b|, all by hand; one SGD step (lr 0.1) adds 2·0.1·k and 0.5·sign(b) to the gradients.
        var dense = new Dense(2) { KernelRegularizer = Regularizer.L2(0.1f), BiasRegularizer = Regularizer.L1(0.5f) };
        var model = new Sequential([2], dense);
        model.Compile(new Sgd(0.1f), new MeanSquaredError(), seed: 1);
        model.Output = TextWriter.Null;
        float[] k = [0.5f, -1f, 2f, 0.25f];
        float[] b = [0.3f, -0.2f];
        k.CopyTo(dense.Kernel.Span);
        b.CopyTo(dense.Bias.Span);
        float[] x = [1f, 2f], t = [0f, 1f];
        float[] p = [x[0] * k[0] + x[1] * k[2] + b[0], x[0] * k[1] + x[1] * k[3] + b[1]];
        double mse = ((p[0] - t[0]) * (p[0] - t[0]) + (p[1] - t[1]) * (p[1] - t[1])) / 2.0;
        double penalty = 0.1 * k.Sum(v => v * v) + 0.5 * b.Sum(Math.Abs);
        var data = new Dataset(Tensor.FromArray(x, 1, 2), Tensor.FromArray(t, 1, 2));
        Assert.That(model.Evaluate(data).Loss, Is.EqualTo(mse + penalty).Within(1e-5));
        TrainingHistory history = model.Fit(data, batchSize: 1, epochs: 1);
        Assert.That(history.Last.Loss, Is.EqualTo(mse + penalty).Within(1e-5));
        for (int i = 0; i < 2; i++)
        {
            float dp = p[i] - t[i]; // dMSE/dp = 2(p − t)/2
            Assert.That(dense.Bias[i], Is.EqualTo(b[i] - 0.1f * (dp + 0.5f * MathF.Sign(b[i]))).Within(1e-6));
            for (int j = 0; j < 2; j++)
                Assert.That(dense.Kernel[j * 2 + i], Is.EqualTo(k[j * 2 + i] - 0.1f * (dp * x[j] + 0.2f * k[j * 2 + i])).Within(1e-6));
        }
    }
}
