using NanoNet.Autograd;
using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// <see cref="LstmFusedStep"/>, the LSTM step with the cell in the GEMM tile's epilogue (AVX-512, batch ≥ 8; AVX2, batch ≥ 3): against
/// the scalar reference (output and every gradient), against the two-pass step it replaces, the streamed inference
/// against the training forward bit for bit, at 1, 2 and 3 threads; units that are not a multiple of the 8-unit panel,
/// partial row tiles, masks, going backwards, initial states and returned sequences.
/// </summary>
public class LstmFusedStepTests
{
    // (N, T, D, U): N = 8 is one AVX-512 row tile, 13 and 37 end in a partial one (with AVX2's 3-row tiles 9 is whole, 8, 13
    // and 37 end in a partial one); U = 13 and 21 end in a partial panel; U = 141 is 18 panels, more than the 16 the AVX2
    // cell takes at a time: a second group of a whole panel and a partial one.
    private static readonly (int N, int T, int D, int U)[] Shapes =
        [(8, 5, 3, 8), (13, 7, 17, 13), (37, 4, 5, 21), (9, 3, 300, 6), (10, 3, 4, 141)];

    private static IEnumerable<TestCaseData> Cases()
    {
        foreach ((int n, int t, int d, int u) in Shapes)
            foreach (bool masked in (bool[])[false, true])
                foreach (bool goBackwards in (bool[])[false, true])
                    foreach (bool initial in (bool[])[false, true])
                        yield return new TestCaseData(n, t, d, u, masked, goBackwards, initial, (masked ^ initial) || goBackwards);
    }

    [Test]
    public void AppliesFromOneWholeRowTile()
    {
        Assume.That(Gemm.BestKernel, Is.AnyOf(GemmKernelKind.Vector512, GemmKernelKind.Vector256),
            "the fused step needs the AVX-512 or the AVX2 tile");
        Assume.That(RecurrentCellMath.Lanes, Is.EqualTo(RecurrentCellMath.NativeLanes), "a test narrowed the cell");
        int rows = Gemm.BestKernel == GemmKernelKind.Vector512 ? 8 : 3;
        Assert.That(LstmFusedStep.Rows, Is.EqualTo(rows));
        Assert.That(LstmFusedStep.Applies(rows - 1), Is.False);
        Assert.That(LstmFusedStep.Applies(rows), Is.True);
    }

    [TestCaseSource(nameof(Cases))]
    public void MatchesTheReference(int n, int t, int d, int u, bool masked, bool goBackwards, bool initial, bool returnSequences)
    {
        Assume.That(LstmFusedStep.Applies(n), "this machine runs the two-pass step (tested by RecurrentOpTests)");
        Case c = new(n, t, d, u, masked, goBackwards, initial, returnSequences);
        float[][] fast = c.RunOps(record: true);
        var (yRef, states) = LstmReference.Forward(n, t, d, u, c.X.ToArray(), c.W.ToArray(), c.R.ToArray(), c.B.ToArray(),
            returnSequences, c.Mask?.ToArray(), c.H0?.ToArray(), c.C0?.ToArray(), goBackwards);
        var (dx, dw, dr, db) = LstmReference.Backward(n, t, d, u, c.X.ToArray(), c.W.ToArray(), c.R.ToArray(), states,
            c.DY.ToArray(), returnSequences, c.Mask?.ToArray(), goBackwards);
        string[] names = ["y", "dX", "dW", "dR", "db"];
        float[][] reference = [yRef, dx, dw, dr, db];
        for (int i = 0; i < names.Length; i++)
            AssertClose(fast[i], reference[i], names[i]);
    }

    [TestCaseSource(nameof(Cases))]
    public void AgreesWithTheTwoPassStep(int n, int t, int d, int u, bool masked, bool goBackwards, bool initial, bool returnSequences)
    {
        Assume.That(LstmFusedStep.Applies(n), "this machine runs the two-pass step only");
        Case c = new(n, t, d, u, masked, goBackwards, initial, returnSequences);
        float[][] fused = c.RunOps(record: true), fusedStreamed = c.RunOps(record: false);
        LstmFusedStep.Enabled = false;
        float[][] twoPass, twoPassStreamed;
        try
        {
            twoPass = c.RunOps(record: true);
            twoPassStreamed = c.RunOps(record: false);
        }
        finally
        {
            LstmFusedStep.Enabled = true;
        }
        for (int i = 0; i < fused.Length; i++)
            AssertClose(fused[i], twoPass[i], $"output {i}");
        AssertClose(fusedStreamed[0], twoPassStreamed[0], "streamed y");
    }

    /// <summary>The streamed inference and the training forward both run the fused step: the same bits, at any thread count.</summary>
    [TestCaseSource(nameof(Cases))]
    public void StreamedInferenceIsTheTrainingForwardBitForBitAtOneTwoAndThreeThreads(int n, int t, int d, int u, bool masked,
        bool goBackwards, bool initial, bool returnSequences)
    {
        Case c = new(n, t, d, u, masked, goBackwards, initial, returnSequences);
        float[][] reference = WithThreads(1, () => c.RunOps(record: true));
        foreach (int threads in (int[])[1, 2, 3])
        {
            float[][] trained = WithThreads(threads, () => c.RunOps(record: true));
            float[][] streamed = WithThreads(threads, () => c.RunOps(record: false));
            AssertBitwise(trained, reference, $"training at {threads} thread(s)");
            AssertBitwise([streamed[0], streamed[5], streamed[6]], [reference[0], reference[5], reference[6]], $"streamed at {threads} thread(s)");
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    public void GradientCheckThroughTheFusedStep(bool masked)
    {
        int n = 8, steps = 3, d = 2, units = 5;
        Assume.That(LstmFusedStep.Applies(n), "this machine runs the two-pass step (checked by RecurrentOpTests)");
        Tensor? mask = null;
        if (masked)
        {
            var values = new float[n * steps];
            for (int i = 0; i < values.Length; i++)
                values[i] = i % 5 == 1 ? 0f : 1f;
            mask = Tensor.FromArray(values, n, steps);
        }
        var x = GradientCheck.Random([n, steps, d], 101);
        var w = Scaled(GradientCheck.Random([d, 4 * units], 102), 0.6f);
        var r = Scaled(GradientCheck.Random([units, 4 * units], 103), 0.4f);
        var b = Scaled(GradientCheck.Random([4 * units], 104), 0.5f);
        GradientCheck.Check(t => Ops.Lstm(t[0], t[1], t[2], t[3], returnSequences: true, mask), [x, w, r, b]);
    }

    /// <summary>One test case's inputs; <see cref="RunOps"/> returns y, dX, dW, dR, db (zero-length when not recording), h_T, c_T.</summary>
    private sealed class Case
    {
        public readonly Tensor X, W, R, B, DY;
        public readonly Tensor? Mask, H0, C0;
        private readonly bool _goBackwards, _returnSequences;
        private readonly int _n, _u;

        public Case(int n, int t, int d, int u, bool masked, bool goBackwards, bool initial, bool returnSequences)
        {
            (_n, _u, _goBackwards, _returnSequences) = (n, u, goBackwards, returnSequences);
            X = Tensor.RandomUniform([n, t, d], -1f, 1f, 111);
            W = Tensor.RandomUniform([d, 4 * u], -0.4f, 0.4f, 112);
            R = Tensor.RandomUniform([u, 4 * u], -0.4f, 0.4f, 113);
            B = Tensor.RandomUniform([4 * u], -0.5f, 0.5f, 114);
            DY = Tensor.RandomUniform(returnSequences ? [n, t, u] : [n, u], -1f, 1f, 115);
            if (masked)
            {
                var values = new float[n * t];
                for (int row = 0; row < n; row++)
                    for (int step = 0; step < t; step++)
                        values[row * t + step] = step < row % 3 || (step + row) % 4 == 2 ? 0f : 1f;
                Mask = Tensor.FromArray(values, n, t);
            }
            if (initial)
            {
                H0 = Tensor.RandomUniform([n, u], -0.8f, 0.8f, 116);
                C0 = Tensor.RandomUniform([n, u], -1.5f, 1.5f, 117);
            }
        }

        public float[][] RunOps(bool record)
        {
            Tensor x = X.Clone(), w = W.Clone(), r = R.Clone(), b = B.Clone();
            foreach (Tensor p in (Tensor[])[x, w, r, b])
                p.RequiresGrad = record;
            LstmState? state = null;
            if (H0 != null)
            {
                state = new LstmState(_n, _u);
                H0.Span.CopyTo(state.Hidden.Span);
                C0!.Span.CopyTo(state.Cell.Span);
            }
            Tensor y;
            if (record)
            {
                y = Ops.Lstm(x, w, r, b, _returnSequences, Mask, state: state, goBackwards: _goBackwards);
                Ops.Sum(Ops.Multiply(y, DY)).Backward();
            }
            else
                using (Tape.NoGrad())
                    y = Ops.Lstm(x, w, r, b, _returnSequences, Mask, state: state, goBackwards: _goBackwards);
            float[] Grad(Tensor p) => record ? p.Grad!.ToArray() : [];
            return [y.ToArray(), Grad(x), Grad(w), Grad(r), Grad(b),
                state?.Hidden.ToArray() ?? [], state?.Cell.ToArray() ?? []];
        }
    }

    private static float[][] WithThreads(int threads, Func<float[][]> run)
    {
        int saved = Parallelism.MaxThreads;
        Parallelism.MaxThreads = threads;
        try
        {
            return run();
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    private static void AssertBitwise(float[][] actual, float[][] expected, string what)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.That(actual[i], Has.Length.EqualTo(expected[i].Length), $"{what}, output {i}");
            for (int j = 0; j < expected[i].Length; j++)
                if (BitConverter.SingleToInt32Bits(actual[i][j]) != BitConverter.SingleToInt32Bits(expected[i][j]))
                    Assert.Fail($"{what}, output {i}, element {j}: {actual[i][j]}, expected {expected[i][j]}");
        }
    }

    private static void AssertClose(float[] actual, float[] expected, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        for (int i = 0; i < expected.Length; i++)
            if (Math.Abs(actual[i] - expected[i]) > 2e-4f + 2e-4f * Math.Abs(expected[i]))
                Assert.Fail($"{what}[{i}]: fused {actual[i]}, expected {expected[i]}");
    }

    private static Tensor Scaled(Tensor t, float factor)
    {
        System.Numerics.Tensors.TensorPrimitives.Multiply(t.Span, factor, t.Span);
        return t;
    }
}
