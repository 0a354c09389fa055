using NanoNet.Losses;

namespace NanoNet.Tests;

/// <summary>
/// Every loss: a central-difference gradient check (plain and with sample weights) and its value against a
/// naive twin written here in double precision, straight from Keras's definitions, on awkward shapes.
/// </summary>
public class LossTests
{
    /// <summary>Naive per-sample loss: one sample's predictions and targets → ℓ, in double.</summary>
    public delegate double SampleLoss(float[] p, float[] t);

    private static readonly int[][] TestShapes = [[5, 3], [2, 3, 4], [7, 1]];

    /// <summary>Σ w·ℓ / samples, from the naive per-sample loss; rows of the last axis are the samples.</summary>
    private static double NaiveReduce(Tensor predictions, Tensor targets, float[]? weights, SampleLoss loss)
    {
        int columns = predictions.Dim(-1), samples = predictions.Length / columns, perExample = samples / predictions.Dim(0);
        double total = 0;
        for (int r = 0; r < samples; r++)
        {
            float[] p = predictions.Span.Slice(r * columns, columns).ToArray(), t = targets.Span.Slice(r * columns, columns).ToArray();
            total += (weights is null ? 1 : weights[r / perExample]) * loss(p, t);
        }
        return total / samples;
    }

    private static double Mean(float[] p, float[] t, Func<double, double, double> element) =>
        p.Select((x, i) => element(x, t[i])).Average();

    private static float Clip(double x) => (float)Math.Clamp(x, 1e-7, 1 - 1e-7);

    private static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));

    public static IEnumerable<TestCaseData> Cases()
    {
        yield return new TestCaseData(new MeanSquaredError(), (Func<int[], int, (Tensor, Tensor)>)Probabilities, (SampleLoss)((p, t) => Mean(p, t, (x, y) => (x - y) * (x - y)))).SetArgDisplayNames("mse");
        yield return new TestCaseData(new MeanAbsoluteError(), (Func<int[], int, (Tensor, Tensor)>)Probabilities, (SampleLoss)((p, t) => Mean(p, t, (x, y) => Math.Abs(x - y)))).SetArgDisplayNames("mae");
        yield return new TestCaseData(new Huber(0.3f), (Func<int[], int, (Tensor, Tensor)>)Probabilities, (SampleLoss)((p, t) => Mean(p, t, (x, y) =>
            Math.Abs(x - y) <= 0.3 ? 0.5 * (x - y) * (x - y) : 0.3 * (Math.Abs(x - y) - 0.15)))).SetArgDisplayNames("huber");
        yield return new TestCaseData(new BinaryCrossEntropy(), (Func<int[], int, (Tensor, Tensor)>)Probabilities, (SampleLoss)((p, t) => Mean(p, t, (x, y) =>
            -(y * Math.Log(Clip(x)) + (1 - y) * Math.Log(1 - Clip(x)))))).SetArgDisplayNames("bce");
        yield return new TestCaseData(new BinaryCrossEntropy(fromLogits: true, labelSmoothing: 0.2f), (Func<int[], int, (Tensor, Tensor)>)Logits, (SampleLoss)((p, t) => Mean(p, t, (z, y) =>
        {
            double s = y * 0.8 + 0.1;
            return -(s * Math.Log(Sigmoid(z)) + (1 - s) * Math.Log(1 - Sigmoid(z)));
        }))).SetArgDisplayNames("bce_logits_smoothed");
        yield return new TestCaseData(new CategoricalCrossEntropy(), (Func<int[], int, (Tensor, Tensor)>)Probabilities, (SampleLoss)((p, t) =>
        {
            double sum = p.Sum(x => (double)x);
            return -p.Select((x, j) => t[j] * Math.Log(Clip(x / sum))).Sum();
        })).SetArgDisplayNames("cce");
        yield return new TestCaseData(new CategoricalCrossEntropy(fromLogits: true, labelSmoothing: 0.1f), (Func<int[], int, (Tensor, Tensor)>)Logits, (SampleLoss)((p, t) =>
        {
            double logSumExp = Math.Log(p.Sum(z => Math.Exp(z)));
            return p.Select((z, j) => (t[j] * 0.9 + 0.1 / p.Length) * (logSumExp - z)).Sum();
        })).SetArgDisplayNames("cce_logits_smoothed");
        yield return new TestCaseData(new KLDivergence(), (Func<int[], int, (Tensor, Tensor)>)Probabilities, (SampleLoss)((p, t) =>
            p.Select((x, j) =>
            {
                double tc = Math.Clamp(t[j], 1e-7, 1), pc = Math.Clamp(x, 1e-7, 1);
                return tc * Math.Log(tc / pc);
            }).Sum())).SetArgDisplayNames("kld");
        yield return new TestCaseData(new CosineSimilarity(), (Func<int[], int, (Tensor, Tensor)>)Logits, (SampleLoss)((p, t) =>
        {
            double pn = Math.Sqrt(Math.Max(p.Sum(x => (double)x * x), 1e-12)), tn = Math.Sqrt(Math.Max(t.Sum(x => (double)x * x), 1e-12));
            return -p.Select((x, j) => x / pn * (t[j] / tn)).Sum();
        })).SetArgDisplayNames("cosine");
    }

    /// <summary>Predictions in (0.05, 0.95) (away from the clips), targets in [0, 1] with some exact 0s and 1s.</summary>
    private static (Tensor, Tensor) Probabilities(int[] shape, int seed)
    {
        Tensor p = Tensor.RandomUniform(shape, 0.05f, 0.95f, seed), t = Tensor.RandomUniform(shape, 0f, 1f, seed + 1);
        for (int i = 0; i < t.Length; i += 3)
            t[i] = i % 2;
        return (p, t);
    }

    /// <summary>Logits in [−3, 3], targets as for <see cref="Probabilities"/>.</summary>
    private static (Tensor, Tensor) Logits(int[] shape, int seed)
    {
        (_, Tensor t) = Probabilities(shape, seed);
        return (Tensor.RandomUniform(shape, -3f, 3f, seed + 2), t);
    }

    [TestCaseSource(nameof(Cases))]
    public void MatchesNaiveTwin(Loss loss, Func<int[], int, (Tensor, Tensor)> data, SampleLoss naive)
    {
        foreach (int[] shape in TestShapes)
        {
            (Tensor p, Tensor t) = data(shape, 3);
            Assert.That(loss.Compute(p, t)[0], Is.EqualTo(NaiveReduce(p, t, null, naive)).Within(2e-5),
                $"{loss.Name} {Shapes.Format(shape)}");
            float[] weights = [.. Enumerable.Range(0, shape[0]).Select(i => (i % 3) * 0.75f)];
            Assert.That(loss.Compute(p, t, Tensor.FromArray(weights, shape[0]))[0], Is.EqualTo(NaiveReduce(p, t, weights, naive)).Within(2e-5),
                $"{loss.Name} {Shapes.Format(shape)} weighted");
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void GradientIsChecked(Loss loss, Func<int[], int, (Tensor, Tensor)> data, SampleLoss naive)
    {
        _ = naive;
        foreach (int[] shape in TestShapes)
        {
            (Tensor p, Tensor t) = data(shape, 5);
            GradientCheck.Check(x => loss.Compute(x[0], t), [p], epsilon: 1e-3f);
            Tensor weights = Tensor.FromArray([.. Enumerable.Range(0, shape[0]).Select(i => 0.5f + i % 2)], shape[0]);
            GradientCheck.Check(x => loss.Compute(x[0], t, weights), [p], epsilon: 1e-3f);
        }
    }

    [Test]
    public void SparseCrossEntropyTakesSampleWeights()
    {
        var logits = GradientCheck.Random([4, 3], 41);
        var labels = Tensor.FromArray([2, 0, 1, 1], 4);
        var weights = Tensor.FromArray([1f, 0f, 2f, 0.5f], 4);
        var loss = new SparseCategoricalCrossEntropy(fromLogits: true);
        double expected = 0;
        for (int r = 0; r < 4; r++)
        {
            double logSumExp = Math.Log(Enumerable.Range(0, 3).Sum(c => Math.Exp(logits[r, c])));
            expected += weights[r] * (logSumExp - logits[r, (int)labels[r]]);
        }
        Assert.That(loss.Compute(logits, labels, weights)[0], Is.EqualTo(expected / 4).Within(1e-5));
        GradientCheck.Check(x => loss.Compute(x[0], labels, weights), [logits]);
    }

    /// <summary>
    /// The vectorized element-wise loss kernels against their scalar twins on 203 values (vector body and scalar
    /// tail), including values clipped at ε and 1 − ε, saturated logits and |d| on both sides of Huber's δ;
    /// with label smoothing for binary cross-entropy. (The shapes above have at most 4 columns, below a vector.)
    /// </summary>
    [TestCase("bce")]
    [TestCase("bce_logits")]
    [TestCase("huber")]
    [TestCase("kl")]
    [TestCase("sign")]
    public void ElementwiseKernelsMatchTheirScalarTwins(string kernel)
    {
        var rng = new Random(11);
        int n = 203;
        float[] p = kernel switch
        {
            "bce" or "kl" => [.. Enumerable.Range(0, n).Select(i => i % 13 == 0 ? 0f : i % 17 == 0 ? 1f : i % 19 == 0 ? 1e-9f : rng.NextSingle())],
            "bce_logits" => [.. Enumerable.Range(0, n).Select(i => i % 23 == 0 ? 120f * (i % 2 == 0 ? 1 : -1) : rng.NextSingle() * 16 - 8)],
            _ => [.. Enumerable.Range(0, n).Select(i => i % 29 == 0 ? 0f : rng.NextSingle() * 6 - 3)],
        };
        float[] t = kernel == "sign" ? new float[n] : [.. Enumerable.Range(0, n).Select(i => kernel is "bce" or "bce_logits" ? (float)(i % 2) : rng.NextSingle())];
        float[] g = new float[n], gRef = new float[n];
        double sum = 0, sumRef = 0;
        switch (kernel)
        {
            case "bce":
                sum = Kernels.ElementwiseLossKernels.BinaryCrossEntropy(p, t, 0.9f, 0.05f, g);
                sumRef = Kernels.ElementwiseLossReference.BinaryCrossEntropy(p, t, 0.9f, 0.05f, gRef);
                break;
            case "bce_logits":
                sum = Kernels.ElementwiseLossKernels.BinaryCrossEntropyFromLogits(p, t, 0.9f, 0.05f, g);
                sumRef = Kernels.ElementwiseLossReference.BinaryCrossEntropyFromLogits(p, t, 0.9f, 0.05f, gRef);
                break;
            case "huber":
                sum = Kernels.ElementwiseLossKernels.Huber(p, t, 1.5f, g);
                sumRef = Kernels.ElementwiseLossReference.Huber(p, t, 1.5f, gRef);
                break;
            case "kl":
                sum = Kernels.ElementwiseLossKernels.KLDivergence(p, t, g);
                sumRef = Kernels.ElementwiseLossReference.KLDivergence(p, t, gRef);
                break;
            default:
                p.CopyTo(g);
                Kernels.ElementwiseLossKernels.SignInPlace(g);
                gRef = [.. p.Select(v => (float)Math.Sign(v))];
                break;
        }
        Assert.That(sum, Is.EqualTo(sumRef).Within(1e-5 * (1 + Math.Abs(sumRef))), "the summed loss");
        KernelAssert.Close(g, gRef, kernel + " gradient", 1e-5f);
    }

    [Test]
    public void BinaryCrossEntropyByHand()
    {
        // p = 0.8, t = 1: −log 0.8; p = 0.3, t = 0: −log 0.7; mean of the two. Targets (N) for outputs (N, 1).
        var loss = new BinaryCrossEntropy();
        Tensor value = loss.Compute(Tensor.FromArray([0.8f, 0.3f], 2, 1), Tensor.FromArray([1f, 0f], 2));
        Assert.That(value[0], Is.EqualTo(-(Math.Log(0.8) + Math.Log(0.7)) / 2).Within(1e-6));
        // Keras clips at 1e-7: p = 0 with t = 1 costs −log 1e-7 ≈ 16.118, not infinity.
        Assert.That(loss.Compute(Tensor.FromArray([0f], 1, 1), Tensor.FromArray([1f], 1))[0], Is.EqualTo(-Math.Log(1e-7)).Within(1e-3));
    }

    [Test]
    public void BinaryCrossEntropyFromLogitsIsStableWhereTheSigmoidSaturates()
    {
        // z = ±100: σ(z) rounds to exactly 1 or 0 in float; the logits form still gives the exact loss z·(1 − t) + log(1 + e^−z) ≈ 100.
        var loss = new BinaryCrossEntropy(fromLogits: true);
        var z = Tensor.FromArray([100f, -100f], 2, 1).AsParameter();
        Tensor value = loss.Compute(z, Tensor.FromArray([0f, 1f], 2));
        Assert.That(value[0], Is.EqualTo(100f).Within(1e-3));
        value.Backward();
        Assert.That(z.Grad!.ToArray(), Is.EqualTo(new[] { 0.5f, -0.5f }).Within(1e-6)); // (σ(z) − t)/N
    }

    [Test]
    public void CosineSimilarityHasKerasSign()
    {
        var loss = new CosineSimilarity();
        Assert.That(loss.Compute(Tensor.FromArray([1f, 1f, 0f, 1f], 2, 2), Tensor.FromArray([2f, 2f, 0f, -3f], 2, 2))[0], Is.EqualTo(0f).Within(1e-6)); // (−1 + 1)/2
        Assert.That(loss.Compute(Tensor.FromArray([1f, 0f], 1, 2), Tensor.FromArray([3f, 0f], 1, 2))[0], Is.EqualTo(-1f).Within(1e-6));
    }

    [Test]
    public void HuberByHand()
    {
        // d = 0.5 (inside δ = 1): ½·0.25 = 0.125; d = −3: 1·(3 − 0.5) = 2.5. Mean over the last axis: 1.3125.
        Assert.That(new Huber().Compute(Tensor.FromArray([1.5f, -3f], 1, 2), Tensor.FromArray([1f, 0f], 1, 2))[0], Is.EqualTo(1.3125f).Within(1e-6));
    }

    [Test]
    public void BadTargetsOrWeightsAreNamed()
    {
        var e = Assert.Throws<ArgumentException>(() => new BinaryCrossEntropy().Compute(Tensor.Zeros(4, 1), Tensor.Zeros(3)));
        Assert.That(e!.Message, Does.Contain("binary_crossentropy").And.Contain("(4, 1)").And.Contain("(3)"));
        e = Assert.Throws<ArgumentException>(() => new MeanAbsoluteError().Compute(Tensor.Zeros(4, 2), Tensor.Zeros(4, 2), Tensor.Zeros(3)));
        Assert.That(e!.Message, Does.Contain("sample weights").And.Contain("(3)"));
    }
}
