using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// The recorded LSTM on embedded ids beyond <see cref="LstmOnEmbeddingTrainingTests"/>: a frozen table, kernel or both,
/// a single distinct id (K = 1), one step (no dR rows), two backward calls accumulating, U = 7 on the two-pass step;
/// and SideBySideWeightGradients' cost-weighted split bitwise the sequential calls over many widths and row counts at
/// 2 to 8 workers (every column exactly once, G not a multiple of Nr, one product far cheaper).
/// </summary>
public class LstmOnEmbeddingEdgeCaseTests
{
    private const int D = 24, Vocabulary = 30;

    private static (Tensor, Tensor, Tensor, Tensor, Tensor) Inputs(int n, int t, int u, bool oneId)
    {
        Tensor ids = Tensor.Zeros([n, t]);
        var random = new Random(41);
        for (int i = 0; i < ids.Length; i++)
            ids.Span[i] = oneId ? 5 : (i % 7 == 3 ? 0 : random.Next(Vocabulary));
        return (ids, Tensor.RandomUniform([Vocabulary, D], -1f, 1f, 42), Tensor.RandomUniform([D, 4 * u], -0.3f, 0.3f, 43),
            Tensor.RandomUniform([u, 4 * u], -0.3f, 0.3f, 44), Tensor.RandomUniform([4 * u], -0.3f, 0.3f, 45));
    }

    private static float[]?[] Run(int n, int t, int u, bool oneId, bool[] trainable, bool onEmbedding, int backwards, bool masked, int threads)
    {
        var (ids, table, w, r, b) = Inputs(n, t, u, oneId);
        Tensor[] p = [table, w, r, b];
        for (int i = 0; i < 4; i++)
            p[i].RequiresGrad = trainable[i];
        float[] y0 = [];
        using (Parallelism.LimitThreads(threads))
            for (int k = 0; k < backwards; k++)
            {
                int runs = LstmKernels.OnEmbeddingRuns;
                Tensor y = onEmbedding ? Ops.LstmOnEmbedding(ids, table, w, r, b, true, masked)
                    : Ops.Lstm(Ops.Embedding(ids, table, masked), w, r, b, true, masked ? Ops.PaddingMask(ids) : null);
                if (onEmbedding)
                    Assert.That(LstmKernels.OnEmbeddingRuns, Is.EqualTo(runs + 1));
                Ops.Sum(Ops.Multiply(y, Tensor.RandomUniform(y.Shape.ToArray(), -1f, 1f, 60))).Backward();
                y0 = y.ToArray();
            }
        return [y0, .. p.Select(x => x.Grad?.ToArray())];
    }

    [TestCase(8, 9, 12, false, true, true, true, true, 1, false)]
    [TestCase(8, 9, 12, false, false, true, true, true, 1, true)]   // frozen table
    [TestCase(8, 9, 12, false, true, false, true, true, 1, true)]   // frozen kernel
    [TestCase(8, 9, 12, false, false, false, true, false, 1, false)] // only R trains
    [TestCase(8, 9, 12, true, true, true, true, true, 1, false)]     // K = 1
    [TestCase(3, 9, 12, true, true, true, true, true, 1, false)]     // K = 1, two-pass
    [TestCase(8, 1, 12, true, true, true, true, true, 1, false)]     // T = 1 (rowsH = 0), K = 1
    [TestCase(8, 9, 12, false, true, true, true, true, 2, true)]     // two backward calls accumulate
    [TestCase(5, 9, 7, false, true, true, true, true, 2, false)]     // U = 7, two-pass
    public void MatchesTheTwoOps(int n, int t, int u, bool oneId, bool table, bool kernel, bool rec, bool bias, int backwards, bool masked)
    {
        bool[] trainable = [table, kernel, rec, bias];
        foreach (int threads in (int[])[1, 2])
        {
            var expected = Run(n, t, u, oneId, trainable, false, backwards, masked, threads);
            var actual = Run(n, t, u, oneId, trainable, true, backwards, masked, threads);
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.That(actual[i] is null, Is.EqualTo(expected[i] is null), $"grad {i} presence");
                if (expected[i] is null) continue;
                for (int j = 0; j < expected[i]!.Length; j++)
                    Assert.That(actual[i]![j], Is.EqualTo(expected[i]![j]).Within(1e-5f + 1e-4f * MathF.Abs(expected[i]![j])), $"{threads}t, output {i}, element {j}");
            }
        }
    }
}

/// <summary>A steady training step of Embedding → LSTM run as one op (masked, going backwards) allocates little.</summary>
public class LstmOnEmbeddingAllocationTests
{
    [TestCase(1)]
    [TestCase(2)]
    public void FusedTrainingStepAllocatesLittle(int threads)
    {
        var model = new NanoNet.Layers.Sequential([12], new NanoNet.Layers.Embedding(40, 8, maskZero: true),
            new NanoNet.Layers.Lstm(8, returnSequences: true, goBackwards: true), new NanoNet.Layers.Dense(2, ActivationFunction.Softmax));
        model.Compile(new NanoNet.Optim.Adam(), new NanoNet.Losses.SparseCategoricalCrossEntropy());
        Tensor ids = Tensor.RandomUniform([16, 12], 0, 40, 2);
        foreach (ref float id in ids.Span)
            id = MathF.Floor(id);
        var batch = new NanoNet.Data.Dataset(ids, Tensor.FromArray(Enumerable.Range(0, 16 * 12).Select(i => (float)(i % 2)).ToArray(), 16, 12));
        int runs = NanoNet.Kernels.LstmKernels.OnEmbeddingRuns;
        long perStep = StepAllocation.BytesPerStep(model, batch, threads);
        TestContext.Out.WriteLine($"{perStep} bytes per step; fused runs on this thread {NanoNet.Kernels.LstmKernels.OnEmbeddingRuns - runs}");
        Assert.That(perStep, Is.LessThan(128), $"{perStep} bytes per step");
    }
}
