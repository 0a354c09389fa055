using NanoNet.Autograd;
using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// The LSTM on embedded ids when recording (<see cref="LstmKernels.ForwardOnEmbedding"/>,
/// <see cref="LstmKernels.BackwardOnEmbedding"/>, <see cref="GroupedRowSums"/>): the forward is Embedding + Lstm's own
/// (bit for bit on the fused AVX-512 step), the gradients of the table, W, R and b equal theirs within rounding and
/// the numeric derivative, the same bits at 1, 2 and 3 threads, the touched rows the same, and a masked id untouched;
/// on the fused and the two-pass step, a partial panel (U = 12) and partial row tiles (N = 3, 37); a batch of mostly
/// distinct ids records the two ops.
/// </summary>
public class LstmOnEmbeddingTrainingTests
{
    private const int T = LstmOnEmbeddingTests.T, D = LstmOnEmbeddingTests.D, Vocabulary = LstmOnEmbeddingTests.Vocabulary;

    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (int n in (int[])[3, 8, 37])
            foreach (int u in (int[])[40, 12])
                foreach (bool returnSequences in (bool[])[false, true])
                    foreach (bool masked in (bool[])[false, true])
                        foreach (bool goBackwards in (bool[])[false, true])
                            yield return new TestCaseData(n, u, returnSequences, masked, goBackwards);
    }

    [TestCaseSource(nameof(Cases))]
    public void TheRecordedOpMatchesEmbeddingThenLstm(int n, int u, bool returnSequences, bool masked, bool goBackwards)
    {
        bool fusedStep = LstmFusedStep.Enabled;
        try
        {
            foreach (bool fused in (bool[])[true, false])
            {
                LstmFusedStep.Enabled = fused;
                string step = LstmFusedStep.Applies(n) ? "fused step" : "two-pass step";
                Result expected = Run(n, u, returnSequences, masked, goBackwards, onEmbedding: false, threads: 1);
                Result actual = Run(n, u, returnSequences, masked, goBackwards, onEmbedding: true, threads: 1);
                if (LstmFusedStep.Applies(n))
                    AssertBitwise(actual.Output, expected.Output, $"{step}: forward");
                else
                    AssertClose(actual.Output, expected.Output, $"{step}: forward");
                for (int i = 0; i < expected.Gradients.Length; i++)
                    AssertClose(actual.Gradients[i], expected.Gradients[i], $"{step}: gradient of {Names[i]}");
                Assert.That(actual.TouchedRows, Is.EqualTo(expected.TouchedRows), $"{step}: the table rows touched");
                if (masked)
                    Assert.That(actual.Gradients[0][..D], Is.All.EqualTo(0f), $"{step}: the padding id's row gets no gradient");
                foreach (int threads in (int[])[2, 3])
                {
                    Result parallel = Run(n, u, returnSequences, masked, goBackwards, onEmbedding: true, threads);
                    AssertBitwise(parallel.Output, actual.Output, $"{step}, {threads} threads: forward");
                    for (int i = 0; i < actual.Gradients.Length; i++)
                        AssertBitwise(parallel.Gradients[i], actual.Gradients[i], $"{step}, {threads} threads: gradient of {Names[i]}");
                }
            }
        }
        finally
        {
            LstmFusedStep.Enabled = fusedStep;
        }
    }

    [TestCase(8, false, false)]
    [TestCase(8, true, true)]
    [TestCase(3, true, false)]
    public void GradientsMatchCentralDifferences(int n, bool masked, bool returnSequences)
    {
        const int steps = 4, width = 5, units = 3, vocabulary = 7;
        Tensor ids = Tensor.Zeros(n, steps);
        var random = new Random(5);
        for (int i = 0; i < ids.Length; i++)
            ids.Span[i] = i % 5 == 2 ? 0 : random.Next(vocabulary);
        Tensor table = GradientCheck.Random([vocabulary, width], 51), w = Scaled(GradientCheck.Random([width, 4 * units], 52), 0.6f);
        Tensor r = Scaled(GradientCheck.Random([units, 4 * units], 53), 0.4f), b = Scaled(GradientCheck.Random([4 * units], 54), 0.5f);
        int runs = LstmKernels.OnEmbeddingRuns;
        GradientCheck.Check(t => Ops.LstmOnEmbedding(ids, t[0], t[1], t[2], t[3], returnSequences, masked), [table, w, r, b]);
        Assert.That(LstmKernels.OnEmbeddingRuns, Is.EqualTo(runs + 1), "the recorded pass ran on the embedded ids");
    }

    [Test]
    public void MostlyDistinctIdsRecordTheTwoOps()
    {
        // 8 sequences of 9 ids from a vocabulary of 100: 72 positions, all distinct (over the share of TrainingDistinctShare).
        const int n = 8, u = 12, vocabulary = 100;
        Tensor ids = Tensor.FromArray([.. Enumerable.Range(0, n * T).Select(i => (float)(i + 20))], n, T);
        Tensor table = Tensor.RandomUniform([vocabulary, D], -1f, 1f, 42), w = Tensor.RandomUniform([D, 4 * u], -0.3f, 0.3f, 43);
        Tensor r = Tensor.RandomUniform([u, 4 * u], -0.3f, 0.3f, 44), b = Tensor.RandomUniform([4 * u], -0.3f, 0.3f, 45);
        float[][] Gradients(bool onEmbedding)
        {
            foreach (Tensor p in (Tensor[])[table, w, r, b])
            {
                p.RequiresGrad = true;
                p.ZeroGrad();
            }
            int runs = LstmKernels.OnEmbeddingRuns;
            Tensor y = onEmbedding ? Ops.LstmOnEmbedding(ids, table, w, r, b) : Ops.Lstm(Ops.Embedding(ids, table), w, r, b);
            Assert.That(LstmKernels.OnEmbeddingRuns, Is.EqualTo(runs), "no id repeats: the two ops run");
            Ops.Sum(y).Backward();
            return [y.ToArray(), table.Grad!.ToArray(), w.Grad!.ToArray(), r.Grad!.ToArray(), b.Grad!.ToArray()];
        }
        float[][] expected = Gradients(onEmbedding: false), actual = Gradients(onEmbedding: true);
        for (int i = 0; i < expected.Length; i++)
            AssertBitwise(actual[i], expected[i], $"output {i}");
    }

    [TestCase(1, false)]
    [TestCase(2, false)]
    [TestCase(3, false)]
    [TestCase(2, true)]
    [TestCase(3, true)]
    public void GroupedRowSumsAddEachGroupsRowsInOrder(int threads, bool frequentFirstGroups)
    {
        const int rows = 300, width = 37, groups = 150;
        var random = new Random(9);
        float[] values = [.. Enumerable.Range(0, rows * width).Select(_ => (float)(random.NextDouble() * 2 - 1) * MathF.Pow(10, random.Next(-3, 4)))];
        // The last 10 groups empty; with frequentFirstGroups half the rows in groups 0–2 (as frequent ids take the first slots).
        int[] groupOfRow = [.. Enumerable.Range(0, rows).Select(i => i % 11 == 0 ? -1
            : frequentFirstGroups && i % 2 == 0 ? random.Next(3) : random.Next(groups - 10))];
        float[] sums = new float[groups * width];
        Array.Fill(sums, float.NaN); // overwritten, empty groups included
        using (Parallelism.LimitThreads(threads))
            GroupedRowSums.Sum(values, width, groupOfRow, groups, sums, new int[groups]);
        float[] expected = new float[groups * width];
        for (int row = 0; row < rows; row++) // the reference: each group's rows in increasing order, from zero
            if (groupOfRow[row] >= 0)
                for (int j = 0; j < width; j++)
                    expected[groupOfRow[row] * width + j] += values[row * width + j];
        AssertBitwise(sums, expected, "sums");
    }

    /// <summary>Summed in pieces (the LSTM's backward chunks, last to first) onto sums never cleared (garbage in them),
    /// each group's first row stored: after the last piece, bit for bit a clear and then every piece's rows added in
    /// order, the groups no row reached zero.</summary>
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public void GroupedRowSumsOntoTouchedGroupsEqualAClearThenAccumulate(int threads)
    {
        const int rows = 240, width = 20, groups = 140;
        var random = new Random(13);
        float[] values = [.. Enumerable.Range(0, rows * width).Select(_ => (float)(random.NextDouble() * 2 - 1))];
        // Groups 0–4 get rows only in the last piece (group 0 row 2 alone), the last 5 groups none.
        int[] groupOfRow = [.. Enumerable.Range(0, rows).Select(i => i % 7 == 1 ? -1 : i == 2 ? 0 : i < 30 && i % 3 == 2 ? random.Next(1, 5)
            : random.Next(5, groups - 5))];
        values[2 * width + 3] = -0f; // a negative zero as a group's first row: 0 + (−0) is +0, as a cleared sum gives
        float[] sums = [.. Enumerable.Range(0, groups * width).Select(_ => float.NaN)];
        int[] touched = new int[groups];
        int[] pieces = [170, 100, 30, 0]; // rows [170, 240), then [100, 170), then [30, 100), then [0, 30)
        using (Parallelism.LimitThreads(threads))
            for (int p = 0, end = rows; p < pieces.Length; end = pieces[p++])
                GroupedRowSums.SumOntoTouched(values.AsSpan(pieces[p] * width, (end - pieces[p]) * width), width,
                    groupOfRow.AsSpan(pieces[p], end - pieces[p]), groups, sums, new int[groups], touched, last: p == pieces.Length - 1);
        float[] expected = new float[groups * width];
        for (int p = 0, end = rows; p < pieces.Length; end = pieces[p++])
            for (int row = pieces[p]; row < end; row++) // the reference: each piece's rows in increasing order, from zero
                if (groupOfRow[row] >= 0)
                    for (int j = 0; j < width; j++)
                        expected[groupOfRow[row] * width + j] += values[row * width + j];
        AssertBitwise(sums, expected, "sums");
        Assert.That(BitConverter.SingleToInt32Bits(sums[3]), Is.EqualTo(0), "row 2's −0 stored as +0");
        Assert.That(sums.AsSpan((groups - 5) * width).ToArray(), Is.All.EqualTo(0f), "groups no row reached");
    }

    /// <summary>With column sums (the LSTM's db) every row, one of no group too, is added into them in the pieces' order:
    /// the bits of <see cref="ColumnSums.AddRows(ReadOnlySpan{float}, int, int, Span{float})"/> on each piece, walked
    /// with the groups' sums on one thread and on their own when the groups are split over workers.</summary>
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public void GroupedRowSumsOntoTouchedAddEveryRowIntoTheColumnSums(int threads)
    {
        const int rows = 240, width = 20, groups = 140;
        var random = new Random(17);
        float[] values = [.. Enumerable.Range(0, rows * width).Select(_ => (float)(random.NextDouble() * 2 - 1) * MathF.Pow(10, random.Next(-3, 4)))];
        int[] groupOfRow = [.. Enumerable.Range(0, rows).Select(i => i % 7 == 1 ? -1 : random.Next(groups))];
        float[] start = [.. Enumerable.Range(0, width).Select(_ => (float)(random.NextDouble() * 2 - 1))];
        float[] columns = [.. start], expected = [.. start], sums = new float[groups * width];
        int[] touched = new int[groups];
        int[] pieces = [170, 100, 30, 0];
        using (Parallelism.LimitThreads(threads))
            for (int p = 0, end = rows; p < pieces.Length; end = pieces[p++])
                GroupedRowSums.SumOntoTouched(values.AsSpan(pieces[p] * width, (end - pieces[p]) * width), width,
                    groupOfRow.AsSpan(pieces[p], end - pieces[p]), groups, sums, new int[groups], touched, last: p == pieces.Length - 1, columns);
        for (int p = 0, end = rows; p < pieces.Length; end = pieces[p++])
            ColumnSums.AddRows(values.AsSpan(pieces[p] * width, (end - pieces[p]) * width), end - pieces[p], width, expected);
        AssertBitwise(columns, expected, "column sums");
        Assert.Throws<ArgumentException>(() => GroupedRowSums.SumOntoTouched(values.AsSpan(0, width), width, groupOfRow.AsSpan(0, 1), groups,
            sums, new int[groups], touched, last: false, new float[width - 1]));
    }

    [Test]
    public void AGroupOutsideTheRangeIsNamed()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            GroupedRowSums.Sum(new float[6], 2, [0, 4, 1], 3, new float[6], new int[3]));
        Assert.That(error!.Message, Does.Contain("[−1, 3)"));
    }

    private static readonly string[] Names = ["the table", "W", "R", "b"];

    private readonly record struct Result(float[] Output, float[][] Gradients, int[] TouchedRows);

    private static Result Run(int n, int u, bool returnSequences, bool masked, bool goBackwards, bool onEmbedding, int threads)
    {
        (Tensor ids, Tensor table, Tensor w, Tensor r, Tensor b) = LstmOnEmbeddingTests.Inputs(n, u);
        foreach (Tensor p in (Tensor[])[table, w, r, b])
            p.RequiresGrad = true;
        using (Parallelism.LimitThreads(threads))
        {
            int runs = LstmKernels.OnEmbeddingRuns;
            Tensor y = onEmbedding
                ? Ops.LstmOnEmbedding(ids, table, w, r, b, returnSequences, masked, goBackwards)
                : Ops.Lstm(Ops.Embedding(ids, table, masked), w, r, b, returnSequences, masked ? Ops.PaddingMask(ids) : null, goBackwards: goBackwards);
            Assert.That(LstmKernels.OnEmbeddingRuns, Is.EqualTo(runs + (onEmbedding ? 1 : 0)), "which path ran");
            Tensor weights = Tensor.RandomUniform(y.Shape.ToArray(), -1f, 1f, 60);
            Ops.Sum(Ops.Multiply(y, weights)).Backward();
            return new Result(y.ToArray(), [table.Grad!.ToArray(), w.Grad!.ToArray(), r.Grad!.ToArray(), b.Grad!.ToArray()],
                [.. Enumerable.Range(0, Vocabulary).Where(table.TouchedGradientRows!.Contains)]);
        }
    }

    private static Tensor Scaled(Tensor t, float factor)
    {
        foreach (ref float v in t.Span)
            v *= factor;
        return t;
    }

    private static void AssertClose(float[] actual, float[] expected, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        for (int j = 0; j < expected.Length; j++)
            Assert.That(actual[j], Is.EqualTo(expected[j]).Within(1e-5f + 1e-4f * MathF.Abs(expected[j])), $"{what}, element {j}");
    }

    private static void AssertBitwise(float[] actual, float[] expected, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        for (int j = 0; j < expected.Length; j++)
            if (BitConverter.SingleToInt32Bits(actual[j]) != BitConverter.SingleToInt32Bits(expected[j]))
                Assert.Fail($"{what}, element {j}: {actual[j]}, expected {expected[j]}");
    }
}
