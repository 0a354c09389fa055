using NanoNet.Autograd;
using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>Embedding and LSTM ops: gradient checks, the fast LSTM against its reference, determinism.</summary>
public class RecurrentOpTests
{
    // ---- Embedding --------------------------------------------------------------------------

    [Test]
    public void EmbeddingGathersRows()
    {
        var table = Tensor.FromArray([0, 1, 10, 11, 20, 21], 3, 2);
        Tensor y = Ops.Embedding(Tensor.FromArray([2, 0, 2, 1], 2, 2), table);
        Assert.That(y.Shape.ToArray(), Is.EqualTo(new[] { 2, 2, 2 }));
        Assert.That(y.ToArray(), Is.EqualTo(new float[] { 20, 21, 0, 1, 20, 21, 10, 11 }));
    }

    [Test]
    public void EmbeddingGradientCheckWithRepeatedTokens()
    {
        // Token 3 occurs three times, token 0 twice, token 4 never: its row must get exactly zero.
        var ids = Tensor.FromArray([3, 0, 3, 1, 3, 0], 2, 3);
        var table = GradientCheck.Random([5, 4], 31);
        GradientCheck.Check(t => Ops.Embedding(ids, t[0]), [table]);
        Assert.That(table.Grad!.Span.Slice(16, 4).ToArray(), Is.All.EqualTo(0f), "an unused row gets no gradient");
    }

    [Test]
    public void EmbeddingSumsRepeatedTokensExactly()
    {
        var table = Tensor.Zeros(3, 2).AsParameter();
        Tensor y = Ops.Embedding(Tensor.FromArray([1, 1, 2, 1], 4), table);
        Ops.Sum(Ops.Multiply(y, Tensor.FromArray([1, 2, 3, 4, 5, 6, 7, 8], 4, 2))).Backward();
        Assert.That(table.Grad!.ToArray(), Is.EqualTo(new float[] { 0, 0, 1 + 3 + 7, 2 + 4 + 8, 5, 6 }));
    }

    [Test]
    public void EmbeddingMaskZeroLeavesThePaddingRowWithoutGradient()
    {
        var table = Tensor.RandomUniform([4, 3], -1, 1, 32).AsParameter();
        Ops.Sum(Ops.Embedding(Tensor.FromArray([0, 0, 2, 3, 0, 2], 2, 3), table, maskZero: true)).Backward();
        float[] grad = table.Grad!.ToArray();
        Assert.That(grad[..3], Is.All.EqualTo(0f), "padding row");
        Assert.That(grad[6..9], Is.All.EqualTo(2f), "token 2 twice");
        Assert.That(grad[9..12], Is.All.EqualTo(1f));
        Assert.That(Ops.PaddingMask(Tensor.FromArray([0, 0, 2, 3, 0, 2], 2, 3)).ToArray(), Is.EqualTo(new float[] { 0, 0, 1, 1, 0, 1 }));
    }

    [Test]
    public void EmbeddingNamesAnOutOfRangeIdAndTheVocabularySize()
    {
        var table = Tensor.Zeros(10, 2);
        var e = Assert.Throws<ArgumentException>(() => Ops.Embedding(Tensor.FromArray([1, 2, 3, 12], 2, 2), table));
        Assert.That(e!.Message, Does.Contain("12").And.Contain("[0, 10)").And.Contain("row 1, position 1"));
        Assert.Throws<ArgumentException>(() => Ops.Embedding(Tensor.FromArray([1.5f], 1, 1), table));
        Assert.Throws<ArgumentException>(() => Ops.Embedding(Tensor.FromArray([-1f], 1, 1), table));
    }

    // ---- LSTM gradient checks ---------------------------------------------------------------

    // (steps, returnSequences, units): units 5 runs the scalar tail only, 24 the Vector512 and Vector256
    // loops, 27 all three.
    private static readonly object[] LstmCases =
    [
        new object[] { 1, false, 5 }, new object[] { 1, true, 5 },
        new object[] { 3, false, 5 }, new object[] { 3, true, 5 },
        new object[] { 7, false, 5 }, new object[] { 7, true, 5 },
        new object[] { 3, true, 24 }, new object[] { 7, false, 27 },
    ];

    [TestCaseSource(nameof(LstmCases))]
    public void LstmGradientCheck(int steps, bool returnSequences, int units)
    {
        int n = 2, d = 3;
        var x = GradientCheck.Random([n, steps, d], 41);
        var w = Scaled(GradientCheck.Random([d, 4 * units], 42), 0.6f);
        var r = Scaled(GradientCheck.Random([units, 4 * units], 43), 0.4f);
        var b = Scaled(GradientCheck.Random([4 * units], 44), 0.5f);
        GradientCheck.Check(t => Ops.Lstm(t[0], t[1], t[2], t[3], returnSequences), [x, w, r, b]);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void LstmGradientCheckWithAMask(bool returnSequences)
    {
        int n = 3, steps = 5, d = 2, units = 4;
        // Pre-padding, a hole in the middle, and a fully masked sequence.
        var mask = Tensor.FromArray([0, 0, 1, 1, 1, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0], n, steps);
        var x = GradientCheck.Random([n, steps, d], 45);
        var w = Scaled(GradientCheck.Random([d, 4 * units], 46), 0.6f);
        var r = Scaled(GradientCheck.Random([units, 4 * units], 47), 0.4f);
        var b = Scaled(GradientCheck.Random([4 * units], 48), 0.5f);
        GradientCheck.Check(t => Ops.Lstm(t[0], t[1], t[2], t[3], returnSequences, mask), [x, w, r, b]);
        // Masked steps receive no gradient.
        Assert.That(x.Grad![0], Is.Zero);
        Assert.That(x.Grad!.Span.Slice((2 * steps) * d, steps * d).ToArray(), Is.All.Zero);
    }

    [Test]
    public void LstmGradientCheckFromACarriedState()
    {
        int n = 2, steps = 3, d = 3, units = 4;
        var initial = new LstmState(n, units);
        Tensor.RandomUniform([n, units], -0.8f, 0.8f, 49).Span.CopyTo(initial.Hidden.Span);
        Tensor.RandomUniform([n, units], -1f, 1f, 50).Span.CopyTo(initial.Cell.Span);
        LstmState Fresh()
        {
            var s = new LstmState(n, units);
            initial.Hidden.Span.CopyTo(s.Hidden.Span);
            initial.Cell.Span.CopyTo(s.Cell.Span);
            return s;
        }
        var x = GradientCheck.Random([n, steps, d], 51);
        var w = Scaled(GradientCheck.Random([d, 4 * units], 52), 0.6f);
        var r = Scaled(GradientCheck.Random([units, 4 * units], 53), 0.4f);
        var b = Scaled(GradientCheck.Random([4 * units], 54), 0.5f);
        GradientCheck.Check(t => Ops.Lstm(t[0], t[1], t[2], t[3], returnSequences: true, state: Fresh()), [x, w, r, b]);
    }

    [Test]
    public void LstmStateCarriesAcrossCalls()
    {
        // Running 6 steps at once equals running 2 then 4 with the state carried.
        int n = 3, d = 4, units = 6;
        var x = Tensor.RandomUniform([n, 6, d], -1, 1, 55);
        var w = Tensor.RandomUniform([d, 4 * units], -0.5f, 0.5f, 56);
        var r = Tensor.RandomUniform([units, 4 * units], -0.5f, 0.5f, 57);
        var b = Tensor.RandomUniform([4 * units], -0.5f, 0.5f, 58);
        float[] whole = Ops.Lstm(x, w, r, b).ToArray();
        var state = new LstmState(n, units);
        Ops.Lstm(Slice(x, 0, 2), w, r, b, state: state);
        float[] pieces = Ops.Lstm(Slice(x, 2, 4), w, r, b, state: state).ToArray();
        Assert.That(pieces, Is.EqualTo(whole).Within(1e-5f).AsCollection);
        Assert.That(state.Hidden.ToArray(), Is.EqualTo(whole).Within(1e-5f).AsCollection);
    }

    [Test]
    public void LstmRejectsMismatchedShapes()
    {
        var x = Tensor.Zeros(2, 3, 4);
        Assert.Throws<ArgumentException>(() => Ops.Lstm(x, Tensor.Zeros(5, 8), Tensor.Zeros(2, 8), Tensor.Zeros(8)));
        Assert.Throws<ArgumentException>(() => Ops.Lstm(x, Tensor.Zeros(4, 8), Tensor.Zeros(3, 8), Tensor.Zeros(8)));
        Assert.Throws<ArgumentException>(() => Ops.Lstm(x, Tensor.Zeros(4, 8), Tensor.Zeros(2, 8), Tensor.Zeros(6)));
        Assert.Throws<ArgumentException>(() => Ops.Lstm(Tensor.Zeros(2, 4), Tensor.Zeros(4, 8), Tensor.Zeros(2, 8), Tensor.Zeros(8)));
    }

    // ---- fast vs reference, determinism -----------------------------------------------------

    [TestCase(4, 9, 7, 13, false, false)]
    [TestCase(8, 20, 33, 40, true, false)]
    [TestCase(16, 30, 64, 96, false, false)]
    [TestCase(5, 12, 10, 32, true, true)]
    [TestCase(32, 25, 128, 128, false, true)]
    public void FastLstmMatchesTheReference(int n, int steps, int d, int units, bool returnSequences, bool masked)
        => CompareWithReference(n, steps, d, units, returnSequences, masked);

    /// <summary>
    /// The cell's point-wise passes at each vector width this machine runs (16, 8, 4 lanes, then
    /// scalar), against the reference: 29 units = 16 + 8 + 4 + 1 reaches every narrower path and the tail.
    /// </summary>
    [TestCase(16)]
    [TestCase(8)]
    [TestCase(4)]
    [TestCase(1)]
    public void LstmCellMatchesTheReferenceAtEachVectorWidth(int lanes)
    {
        Assume.That(lanes, Is.LessThanOrEqualTo(LstmKernels.NativeCellLanes), "this machine has no vectors that wide");
        int saved = LstmKernels.CellLanes;
        LstmKernels.CellLanes = lanes;
        try
        {
            CompareWithReference(6, 11, 9, 29, returnSequences: true, masked: true);
            CompareWithReference(4, 7, 5, 4, returnSequences: false, masked: false);
        }
        finally
        {
            LstmKernels.CellLanes = saved;
        }
    }

    /// <summary>Going backwards and Keras' dropout (one input and one recurrent mask per sequence), alone and together, against the reference.</summary>
    [TestCase(5, 12, 10, 29, true, true, true, false)]
    [TestCase(5, 12, 10, 29, false, true, false, true)]
    [TestCase(9, 8, 7, 13, true, false, true, true)]
    [TestCase(32, 17, 40, 64, false, true, true, true)]
    [TestCase(3, 1, 4, 5, true, true, true, true)]
    public void FastLstmMatchesTheReferenceGoingBackwardsAndWithDropout(int n, int steps, int d, int units, bool returnSequences,
        bool masked, bool goBackwards, bool dropout)
        => CompareWithReference(n, steps, d, units, returnSequences, masked, goBackwards, dropout);

    [TestCase(false)]
    [TestCase(true)]
    public void LstmGradientCheckGoingBackwardsWithDropoutAndAMask(bool returnSequences)
    {
        int n = 3, steps = 5, d = 3, units = 4;
        var mask = Tensor.FromArray([0, 0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1], n, steps);
        Tensor dropout = Ops.DropoutMask(n, d, 0.4f, new RandomStream(1))!;
        Tensor recurrent = Ops.DropoutMask(n, units, 0.4f, new RandomStream(2))!;
        Assert.That(dropout.ToArray(), Has.Some.Zero.And.Some.EqualTo(1f / 0.6f));
        Assert.That(recurrent.ToArray(), Has.Some.Zero.And.Some.EqualTo(1f / 0.6f));
        var x = GradientCheck.Random([n, steps, d], 91);
        var w = Scaled(GradientCheck.Random([d, 4 * units], 92), 0.6f);
        var r = Scaled(GradientCheck.Random([units, 4 * units], 93), 0.4f);
        var b = Scaled(GradientCheck.Random([4 * units], 94), 0.5f);
        GradientCheck.Check(t => Ops.Lstm(t[0], t[1], t[2], t[3], returnSequences, mask, goBackwards: true,
            dropoutMask: dropout, recurrentDropoutMask: recurrent), [x, w, r, b]);
    }

    [Test]
    public void LstmGoingBackwardsReadsTheReversedSequence()
    {
        // go_backwards on x equals the forward LSTM on x reversed in time (the output stays in processing order).
        int n = 2, steps = 6, d = 3, units = 5;
        var x = Tensor.RandomUniform([n, steps, d], -1, 1, 95);
        var w = Tensor.RandomUniform([d, 4 * units], -0.5f, 0.5f, 96);
        var r = Tensor.RandomUniform([units, 4 * units], -0.5f, 0.5f, 97);
        var b = Tensor.RandomUniform([4 * units], -0.5f, 0.5f, 98);
        var reversed = Tensor.Zeros(n, steps, d);
        for (int s = 0; s < n; s++)
            for (int t = 0; t < steps; t++)
                x.Span.Slice((s * steps + t) * d, d).CopyTo(reversed.Span.Slice((s * steps + steps - 1 - t) * d, d));
        Assert.That(Ops.Lstm(x, w, r, b, returnSequences: true, goBackwards: true).ToArray(),
            Is.EqualTo(Ops.Lstm(reversed, w, r, b, returnSequences: true).ToArray()).AsCollection);
    }

    [Test]
    public void LstmRejectsDropoutMasksOfTheWrongShape()
    {
        var x = Tensor.Zeros(2, 3, 4);
        var e = Assert.Throws<ArgumentException>(() => Ops.Lstm(x, Tensor.Zeros(4, 8), Tensor.Zeros(2, 8), Tensor.Zeros(8), dropoutMask: Tensor.Ones(2, 3)));
        Assert.That(e!.Message, Does.Contain("dropout").And.Contain("(2, 4)").And.Contain("(2, 3)"));
        Assert.Throws<ArgumentException>(() => Ops.Lstm(x, Tensor.Zeros(4, 8), Tensor.Zeros(2, 8), Tensor.Zeros(8), recurrentDropoutMask: Tensor.Ones(3, 2)));
    }

    private static void CompareWithReference(int n, int steps, int d, int units, bool returnSequences, bool masked,
        bool goBackwards = false, bool dropout = false)
    {
        var x = Tensor.RandomUniform([n, steps, d], -1, 1, 61).AsParameter();
        var w = Tensor.RandomUniform([d, 4 * units], -0.3f, 0.3f, 62).AsParameter();
        var r = Tensor.RandomUniform([units, 4 * units], -0.3f, 0.3f, 63).AsParameter();
        var b = Tensor.RandomUniform([4 * units], -0.5f, 0.5f, 64).AsParameter();
        Tensor? mask = null;
        if (masked)
        {
            mask = Tensor.Ones(n, steps);
            var rng = new Random(65);
            for (int s = 0; s < n; s++)
                for (int t = 0; t < rng.Next(steps); t++)
                    mask[s * steps + t] = 0f; // pre-padding of random length
        }
        Tensor dY = Tensor.RandomUniform(returnSequences ? [n, steps, units] : [n, units], -1, 1, 66);
        Tensor? dropoutMask = dropout ? Ops.DropoutMask(n, d, 0.3f, new RandomStream(67)) : null;
        Tensor? recurrentMask = dropout ? Ops.DropoutMask(n, units, 0.25f, new RandomStream(68)) : null;

        Tensor y = Ops.Lstm(x, w, r, b, returnSequences, mask, goBackwards: goBackwards, dropoutMask: dropoutMask, recurrentDropoutMask: recurrentMask);
        Ops.Sum(Ops.Multiply(y, dY)).Backward();

        var (yRef, states) = LstmReference.Forward(n, steps, d, units, x.ToArray(), w.ToArray(), r.ToArray(), b.ToArray(),
            returnSequences, mask?.ToArray(), goBackwards: goBackwards, inputDropout: dropoutMask?.ToArray(), recurrentDropout: recurrentMask?.ToArray());
        var (dx, dw, dr, db) = LstmReference.Backward(n, steps, d, units, x.ToArray(), w.ToArray(), r.ToArray(), states,
            dY.ToArray(), returnSequences, mask?.ToArray(), goBackwards, dropoutMask?.ToArray(), recurrentMask?.ToArray());
        AssertClose(y.ToArray(), yRef, "y");
        AssertClose(x.Grad!.ToArray(), dx, "dX");
        AssertClose(w.Grad!.ToArray(), dw, "dW");
        AssertClose(r.Grad!.ToArray(), dr, "dR");
        AssertClose(b.Grad!.ToArray(), db, "db");
    }

    [Test]
    public void LstmIsBitwiseIdenticalAtOneAndTwoThreads()
    {
        float[] Run(int threads)
        {
            int saved = Parallelism.MaxThreads;
            Parallelism.MaxThreads = threads;
            try
            {
                var x = Tensor.RandomUniform([32, 20, 64], -1, 1, 71).AsParameter();
                var w = Tensor.RandomUniform([64, 512], -0.2f, 0.2f, 72).AsParameter();
                var r = Tensor.RandomUniform([128, 512], -0.2f, 0.2f, 73).AsParameter();
                var b = Tensor.RandomUniform([512], -0.5f, 0.5f, 74).AsParameter();
                var random = new RandomStream(76);
                Tensor y = Ops.Lstm(x, w, r, b, returnSequences: true, goBackwards: true,
                    dropoutMask: Ops.DropoutMask(32, 64, 0.2f, random), recurrentDropoutMask: Ops.DropoutMask(32, 128, 0.2f, random));
                Ops.Sum(Ops.Multiply(y, Tensor.RandomUniform([32, 20, 128], -1, 1, 75))).Backward();
                return [.. y.ToArray(), .. x.Grad!.ToArray(), .. w.Grad!.ToArray(), .. r.Grad!.ToArray(), .. b.Grad!.ToArray()];
            }
            finally
            {
                Parallelism.MaxThreads = saved;
            }
        }
        float[] one = Run(1), two = Run(2);
        Assert.That(two.Length, Is.EqualTo(one.Length));
        for (int i = 0; i < one.Length; i++)
            if (BitConverter.SingleToInt32Bits(one[i]) != BitConverter.SingleToInt32Bits(two[i]))
                Assert.Fail($"element {i} differs: {one[i]} at 1 thread, {two[i]} at 2");
    }

    // ---- orthogonal initializer --------------------------------------------------------------

    [TestCase(64, 64)]
    [TestCase(128, 32)]
    [TestCase(32, 128)]
    [TestCase(1, 4)]
    public void OrthogonalInitializerIsOrthonormal(int rows, int columns)
    {
        var q = new float[rows * columns];
        Initializers.Orthogonal(q, rows, columns, new RandomStream(81));
        // Rows ≥ columns: QᵀQ = I (columns orthonormal); otherwise Q·Qᵀ = I (rows orthonormal).
        bool byColumns = rows >= columns;
        int k = Math.Min(rows, columns), m = Math.Max(rows, columns);
        double worst = 0;
        for (int a = 0; a < k; a++)
            for (int c = 0; c < k; c++)
            {
                double dot = 0;
                for (int i = 0; i < m; i++)
                    dot += byColumns ? (double)q[i * columns + a] * q[i * columns + c] : (double)q[a * columns + i] * q[c * columns + i];
                worst = Math.Max(worst, Math.Abs(dot - (a == c ? 1 : 0)));
            }
        Assert.That(worst, Is.LessThan(1e-5));
        var again = new float[rows * columns];
        Initializers.Orthogonal(again, rows, columns, new RandomStream(81));
        Assert.That(again, Is.EqualTo(q).AsCollection, "seeded");
    }

    private static void AssertClose(float[] actual, float[] expected, string what)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), what);
        for (int i = 0; i < expected.Length; i++)
            if (Math.Abs(actual[i] - expected[i]) > 2e-4f + 2e-4f * Math.Abs(expected[i]))
                Assert.Fail($"{what}[{i}]: fast {actual[i]}, reference {expected[i]}");
    }

    private static Tensor Scaled(Tensor t, float factor)
    {
        System.Numerics.Tensors.TensorPrimitives.Multiply(t.Span, factor, t.Span);
        return t;
    }

    private static Tensor Slice(Tensor x, int start, int steps)
    {
        int n = x.Dim(0), t = x.Dim(1), d = x.Dim(2);
        var y = Tensor.Zeros(n, steps, d);
        for (int s = 0; s < n; s++)
            x.Span.Slice((s * t + start) * d, steps * d).CopyTo(y.Span.Slice(s * steps * d, steps * d));
        return y;
    }
}
