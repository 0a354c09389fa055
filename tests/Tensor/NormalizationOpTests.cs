using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// Batch and layer normalisation: the fast kernels against their double-precision reference twins on
/// awkward shapes, the ops' gradients by central differences, and bit-identical results at 1 and 2 threads.
/// </summary>
public class NormalizationOpTests
{
    // rows × channels: one row, channels below, at and above a vector width, chunks that do not divide the rows.
    private static readonly int[][] Shapes =
    [
        [1, 1], [1, 7], [3, 5], [7, 8], [5, 17], [2, 33], [1000, 3], [4099, 16], [513, 64],
    ];

    private static Tensor Values(int rows, int channels, int seed, float offset = 0f)
    {
        Tensor x = Tensor.RandomNormal([rows, channels], 0f, 2f, seed);
        foreach (ref float v in x.Span)
            v += offset;
        return x;
    }

    [TestCaseSource(nameof(Shapes))]
    public void BatchNormStatisticsMatchTheReference(int rows, int channels)
    {
        Tensor x = Values(rows, channels, 1, offset: 50f); // a large mean: the shifted sums must not lose the variance
        float[] mean = new float[channels], variance = new float[channels], refMean = new float[channels], refVariance = new float[channels];
        BatchNormKernels.Statistics(x.Span, rows, channels, mean, variance, new float[BatchNormKernels.ScratchLength(rows, channels)]);
        BatchNormReference.Statistics(x.Span, rows, channels, refMean, refVariance);
        for (int c = 0; c < channels; c++)
        {
            Assert.That(mean[c], Is.EqualTo(refMean[c]).Within(1e-5 * 50), $"mean {c}");
            Assert.That(variance[c], Is.EqualTo(refVariance[c]).Within(1e-4 * Math.Max(1, refVariance[c])), $"variance {c}");
        }
    }

    [TestCaseSource(nameof(Shapes))]
    public void BatchNormForwardAndBackwardMatchTheReference(int rows, int channels)
    {
        foreach (bool training in new[] { true, false })
        {
            Tensor x = Values(rows, channels, 2), dY = Values(rows, channels, 3);
            Tensor gamma = Tensor.RandomUniform([channels], 0.5f, 1.5f, 4).AsParameter("gamma"), beta = Tensor.RandomUniform([channels], -1f, 1f, 5).AsParameter("beta");
            Tensor movingMean = Tensor.RandomUniform([channels], -0.5f, 0.5f, 6), movingVariance = Tensor.RandomUniform([channels], 0.5f, 2f, 7);
            float[] mean = movingMean.ToArray(), variance = movingVariance.ToArray();
            if (training)
                BatchNormReference.Statistics(x.Span, rows, channels, mean, variance);
            x.RequiresGrad = true;
            Tensor y = Ops.BatchNormalization(x, gamma, beta, movingMean, movingVariance, training);
            var expected = new float[x.Length];
            BatchNormReference.Forward(x.Span, rows, channels, mean, variance, gamma.Span, beta.Span, 1e-3f, expected);
            AssertClose(y.Span, expected, 2e-5f, $"forward, training {training}");

            Ops.Sum(Ops.Multiply(y, dY)).Backward();
            float[] dX = new float[x.Length], dGamma = new float[channels], dBeta = new float[channels];
            BatchNormReference.Backward(x.Span, dY.Span, rows, channels, mean, variance, gamma.Span, 1e-3f, training, dX, dGamma, dBeta);
            AssertClose(x.Grad!.Span, dX, 2e-4f, $"dX, training {training}");
            AssertClose(gamma.Grad!.Span, dGamma, 2e-4f * Math.Max(1, rows / 64), $"dGamma, training {training}");
            AssertClose(beta.Grad!.Span, dBeta, 2e-4f * Math.Max(1, rows / 64), $"dBeta, training {training}");
        }
    }

    [Test]
    public void BatchNormTrainingUpdatesTheMovingStatisticsAsKerasDoes()
    {
        Tensor x = Values(6, 3, 8);
        Tensor movingMean = Tensor.FromArray([0.5f, -1f, 2f], 3), movingVariance = Tensor.FromArray([1f, 2f, 0.5f], 3);
        float[] mean = new float[3], variance = new float[3];
        BatchNormReference.Statistics(x.Span, 6, 3, mean, variance);
        float[] expectedMean = [.. movingMean.ToArray().Select((m, c) => m * 0.9f + mean[c] * 0.1f)];
        float[] expectedVariance = [.. movingVariance.ToArray().Select((v, c) => v * 0.9f + variance[c] * 0.1f)];
        Ops.BatchNormalization(x, null, null, movingMean, movingVariance, training: true, momentum: 0.9f);
        AssertClose(movingMean.Span, expectedMean, 1e-6f, "moving mean");
        AssertClose(movingVariance.Span, expectedVariance, 1e-6f, "moving variance (biased batch variance)");
        float[] before = movingMean.ToArray();
        Ops.BatchNormalization(x, null, null, movingMean, movingVariance, training: false, momentum: 0.9f);
        Assert.That(movingMean.ToArray(), Is.EqualTo(before), "inference leaves the moving statistics alone");
    }

    [TestCase(true, true, true)]
    [TestCase(true, false, false)]
    [TestCase(false, true, true)]
    [TestCase(false, false, true)]
    public void BatchNormGradients(bool training, bool scale, bool center)
    {
        Tensor movingMean = Tensor.FromArray([0.1f, -0.2f, 0.3f, 0f], 4), movingVariance = Tensor.FromArray([0.8f, 1.2f, 0.5f, 2f], 4);
        var inputs = new List<Tensor> { GradientCheck.Random([3, 2, 4], 1) };
        if (scale)
            inputs.Add(GradientCheck.Random([4], 2));
        if (center)
            inputs.Add(GradientCheck.Random([4], 3));
        GradientCheck.Check(t => Ops.BatchNormalization(t[0], scale ? t[1] : null, center ? t[^1] : null,
            movingMean, movingVariance, training), [.. inputs], epsilon: 1e-2f);
    }

    [TestCaseSource(nameof(Shapes))]
    public void LayerNormForwardAndBackwardMatchTheReference(int rows, int channels)
    {
        Tensor x = Values(rows, channels, 11, offset: 3f), dY = Values(rows, channels, 12);
        Tensor gamma = Tensor.RandomUniform([channels], 0.5f, 1.5f, 13).AsParameter("gamma"), beta = Tensor.RandomUniform([channels], -1f, 1f, 14).AsParameter("beta");
        x.RequiresGrad = true;
        Tensor y = Ops.LayerNormalization(x, gamma, beta);
        var expected = new float[x.Length];
        LayerNormReference.Forward(x.Span, rows, channels, gamma.Span, beta.Span, 1e-3f, expected);
        AssertClose(y.Span, expected, 2e-5f, "forward");

        Ops.Sum(Ops.Multiply(y, dY)).Backward();
        float[] dX = new float[x.Length], dGamma = new float[channels], dBeta = new float[channels];
        LayerNormReference.Backward(x.Span, dY.Span, rows, channels, gamma.Span, 1e-3f, dX, dGamma, dBeta);
        AssertClose(x.Grad!.Span, dX, 2e-4f, "dX");
        AssertClose(gamma.Grad!.Span, dGamma, 2e-4f * Math.Max(1, rows / 64), "dGamma");
        AssertClose(beta.Grad!.Span, dBeta, 2e-4f * Math.Max(1, rows / 64), "dBeta");
    }

    [TestCase(true, true)]
    [TestCase(false, false)]
    [TestCase(true, false)]
    public void LayerNormGradients(bool scale, bool center)
    {
        var inputs = new List<Tensor> { GradientCheck.Random([2, 3, 5], 4) };
        if (scale)
            inputs.Add(GradientCheck.Random([5], 5));
        if (center)
            inputs.Add(GradientCheck.Random([5], 6));
        GradientCheck.Check(t => Ops.LayerNormalization(t[0], scale ? t[1] : null, center ? t[^1] : null), [.. inputs]);
    }

    [Test]
    public void ResultsAreBitIdenticalAtOneAndTwoThreads()
    {
        float[][] one = Run(1), two = Run(2);
        for (int i = 0; i < one.Length; i++)
            Assert.That(two[i], Is.EqualTo(one[i]), $"result {i}");

        static float[][] Run(int threads)
        {
            int saved = Parallelism.MaxThreads;
            Parallelism.MaxThreads = threads;
            try
            {
                Tensor x = Tensor.RandomNormal([64, 16, 16, 8], 1f, 2f, 21).AsParameter("x");
                Tensor gamma = Tensor.RandomUniform([8], 0.5f, 1.5f, 22).AsParameter("g"), beta = Tensor.Zeros(8).AsParameter("b");
                Tensor movingMean = Tensor.Zeros(8), movingVariance = Tensor.Ones(8);
                Tensor weights = Tensor.RandomNormal([64, 16, 16, 8], 0f, 1f, 23);
                Tensor bn = Ops.BatchNormalization(x, gamma, beta, movingMean, movingVariance, training: true);
                Tensor ln = Ops.LayerNormalization(Ops.Reshape(x.Detach(), 1024, 128), null, null);
                Ops.Sum(Ops.Multiply(bn, weights)).Backward();
                Tensor lnInput = Tensor.RandomNormal([2048, 128], 0f, 1f, 24).AsParameter("l");
                Tensor lnGamma = Tensor.RandomUniform([128], 0.5f, 1.5f, 25).AsParameter("lg");
                Ops.Sum(Ops.Multiply(Ops.LayerNormalization(lnInput, lnGamma, null), Tensor.RandomNormal([2048, 128], 0f, 1f, 26))).Backward();
                return [bn.ToArray(), x.Grad!.ToArray(), gamma.Grad!.ToArray(), movingVariance.ToArray(), lnInput.Grad!.ToArray(), lnGamma.Grad!.ToArray(), ln.ToArray()];
            }
            finally
            {
                Parallelism.MaxThreads = saved;
            }
        }
    }

    [Test]
    public void BadShapesNameTheExpectedAndActualShapes()
    {
        var e = Assert.Throws<ArgumentException>(() => Ops.BatchNormalization(Tensor.Zeros(2, 3), Tensor.Ones(4), null, Tensor.Zeros(3), Tensor.Ones(3), training: true));
        Assert.That(e!.Message, Does.Contain("gamma must be (3)").And.Contain("(4)"));
        e = Assert.Throws<ArgumentException>(() => Ops.LayerNormalization(Tensor.Zeros(2, 3), null, Tensor.Zeros(2)));
        Assert.That(e!.Message, Does.Contain("beta must be (3)").And.Contain("(2)"));
    }

    private static void AssertClose(ReadOnlySpan<float> actual, float[] expected, float tolerance, string what)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), what);
        for (int i = 0; i < expected.Length; i++)
            Assert.That(actual[i], Is.EqualTo(expected[i]).Within(tolerance * Math.Max(1f, MathF.Abs(expected[i]))), $"{what}, element {i}");
    }
}
