using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>The GRU and simple-RNN ops: gradient checks, the fast kernels against their step-by-step references, determinism.</summary>
public class GruAndSimpleRnnOpTests
{
    private static Tensor Scaled(Tensor t, float factor)
    {
        System.Numerics.Tensors.TensorPrimitives.Multiply(t.Span, factor, t.Span);
        return t;
    }

    /// <summary>
    /// One GRU step by hand with a fixed recurrent-dropout mask, Keras's GRUCell (reset_after): the gates' recurrent
    /// products read the dropped state h̃ = h₀⊙m, the final mix h = z⊙h₀ + (1 − z)⊙c reads the undropped h₀.
    /// N = 1, D = 1 (x = 0, W = 0, biases 0), U = 2, h₀ = (1, 2), m = (0, 2): h̃ = (0, 4). R is zero except
    /// R[1, z₀] = 0.25 and R[1, h₀] = 0.5, so z = (σ(1), ½), r = (½, ½), ĥ = (2, 0), c = (tanh(½·2), 0) and
    /// h = (σ(1)·1 + (1 − σ(1))·tanh 1, ½·2). Mixing with h̃ instead would give (σ(1)·0 + …, ½·4); a candidate
    /// from the undropped h₀ would give tanh(½·1).
    /// </summary>
    [Test]
    public void GruStepByHandMixesTheUndroppedStateAndFeedsTheDroppedOneToTheGates()
    {
        const int units = 2;
        var x = Tensor.Zeros(1, 1, 1);
        var w = Tensor.Zeros(1, 3 * units);
        var r = Tensor.Zeros(units, 3 * units);
        r[1, 0] = 0.25f;          // z gate, unit 0, from h̃₁
        r[1, 2 * units] = 0.5f;   // candidate, unit 0, from h̃₁
        var b = Tensor.Zeros(2, 3 * units);
        var recurrentMask = Tensor.FromArray([0f, 2f], 1, units);
        var state = new HiddenState(1, units);
        state.Hidden[0, 0] = 1f;
        state.Hidden[0, 1] = 2f;

        float z0 = 1f / (1f + MathF.Exp(-1f));
        float[] expected = [z0 * 1f + (1f - z0) * MathF.Tanh(1f), 0.5f * 2f];
        float[] kernel = Ops.Gru(x, w, r, b, state: state, recurrentDropoutMask: recurrentMask).ToArray();
        Assert.That(kernel, Is.EqualTo(expected).Within(1e-6f).AsCollection);

        (float[] reference, _) = GruReference.Forward(1, 1, 1, units, x.ToArray(), w.ToArray(), r.ToArray(), b.ToArray(),
            returnSequences: false, h0: [1f, 2f], recurrentDropout: recurrentMask.ToArray());
        Assert.That(reference, Is.EqualTo(expected).Within(1e-6f).AsCollection);
    }

    // (steps, returnSequences, units, goBackwards): units 5 runs the scalar tail only, 24 and 27 the vector loops.
    private static readonly object[] Cases =
    [
        new object[] { 1, false, 5, false }, new object[] { 1, true, 5, true },
        new object[] { 4, false, 5, false }, new object[] { 4, true, 5, true },
        new object[] { 3, true, 24, false }, new object[] { 5, false, 27, true },
    ];

    [TestCaseSource(nameof(Cases))]
    public void GruGradientCheck(int steps, bool returnSequences, int units, bool goBackwards)
    {
        int n = 2, d = 3;
        var x = GradientCheck.Random([n, steps, d], 11);
        var w = Scaled(GradientCheck.Random([d, 3 * units], 12), 0.6f);
        var r = Scaled(GradientCheck.Random([units, 3 * units], 13), 0.4f);
        var b = Scaled(GradientCheck.Random([2, 3 * units], 14), 0.5f);
        GradientCheck.Check(t => Ops.Gru(t[0], t[1], t[2], t[3], returnSequences, goBackwards: goBackwards), [x, w, r, b]);
    }

    [TestCaseSource(nameof(Cases))]
    public void SimpleRnnGradientCheck(int steps, bool returnSequences, int units, bool goBackwards)
    {
        int n = 2, d = 3;
        var x = GradientCheck.Random([n, steps, d], 21);
        var w = Scaled(GradientCheck.Random([d, units], 22), 0.6f);
        var r = Scaled(GradientCheck.Random([units, units], 23), 0.4f);
        var b = Scaled(GradientCheck.Random([units], 24), 0.5f);
        GradientCheck.Check(t => Ops.SimpleRnn(t[0], t[1], t[2], t[3], returnSequences: returnSequences, goBackwards: goBackwards), [x, w, r, b]);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void GradientChecksWithAMaskDropoutAndACarriedState(bool returnSequences)
    {
        int n = 3, steps = 5, d = 3, units = 4;
        var mask = Tensor.FromArray([0, 0, 1, 1, 1, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0], n, steps);
        Tensor dropout = Ops.DropoutMask(n, d, 0.4f, new RandomStream(1))!;
        Tensor recurrent = Ops.DropoutMask(n, units, 0.4f, new RandomStream(2))!;
        Tensor initial = Tensor.RandomUniform([n, units], -0.8f, 0.8f, 3);
        HiddenState Fresh()
        {
            var s = new HiddenState(n, units);
            initial.Span.CopyTo(s.Hidden.Span);
            return s;
        }
        var x = GradientCheck.Random([n, steps, d], 31);
        var w = Scaled(GradientCheck.Random([d, 3 * units], 32), 0.6f);
        var r = Scaled(GradientCheck.Random([units, 3 * units], 33), 0.4f);
        var b = Scaled(GradientCheck.Random([2, 3 * units], 34), 0.5f);
        GradientCheck.Check(t => Ops.Gru(t[0], t[1], t[2], t[3], returnSequences, mask, Fresh(), goBackwards: true,
            dropoutMask: dropout, recurrentDropoutMask: recurrent), [x, w, r, b]);
        Assert.That(x.Grad!.Span.Slice(2 * steps * d, steps * d).ToArray(), Is.All.Zero, "a fully masked sequence gets no gradient");

        var ws = Scaled(GradientCheck.Random([d, units], 35), 0.6f);
        var rs = Scaled(GradientCheck.Random([units, units], 36), 0.4f);
        var bs = Scaled(GradientCheck.Random([units], 37), 0.5f);
        foreach (ActivationFunction activation in new[] { ActivationFunction.Tanh, ActivationFunction.Relu, ActivationFunction.Linear })
            GradientCheck.Check(t => Ops.SimpleRnn(t[0], t[1], t[2], t[3], activation, returnSequences, mask, Fresh(), goBackwards: true,
                dropoutMask: dropout, recurrentDropoutMask: recurrent), [x, ws, rs, bs]);
    }

    [TestCase(4, 9, 7, 13, false, false, false, false)]
    [TestCase(8, 20, 33, 40, true, false, true, false)]
    [TestCase(16, 30, 64, 96, false, true, false, true)]
    [TestCase(5, 12, 10, 29, true, true, true, true)]
    [TestCase(32, 25, 128, 128, false, true, false, false)]
    [TestCase(3, 1, 4, 5, true, false, true, true)]
    public void FastKernelsMatchTheReferences(int n, int steps, int d, int units, bool returnSequences, bool masked, bool goBackwards, bool dropout)
    {
        CompareGru(n, steps, d, units, returnSequences, masked, goBackwards, dropout);
        foreach (ActivationFunction activation in new[] { ActivationFunction.Tanh, ActivationFunction.Relu, ActivationFunction.Linear })
            CompareSimpleRnn(n, steps, d, units, activation, returnSequences, masked, goBackwards, dropout);
    }

    /// <summary>The point-wise passes at each vector width this machine runs; 29 units = 16 + 8 + 4 + 1 reaches every path.</summary>
    [TestCase(16)]
    [TestCase(8)]
    [TestCase(4)]
    [TestCase(1)]
    public void CellsMatchTheReferencesAtEachVectorWidth(int lanes)
    {
        Assume.That(lanes, Is.LessThanOrEqualTo(LstmKernels.NativeCellLanes), "this machine has no vectors that wide");
        int saved = LstmKernels.CellLanes;
        LstmKernels.CellLanes = lanes;
        try
        {
            CompareGru(6, 11, 9, 29, returnSequences: true, masked: true, goBackwards: false, dropout: true);
            CompareSimpleRnn(6, 11, 9, 29, ActivationFunction.Tanh, returnSequences: true, masked: true, goBackwards: true, dropout: false);
            CompareSimpleRnn(6, 11, 9, 29, ActivationFunction.Relu, returnSequences: false, masked: false, goBackwards: false, dropout: true);
        }
        finally
        {
            LstmKernels.CellLanes = saved;
        }
    }

    private static Tensor? RandomMask(int n, int steps, bool masked)
    {
        if (!masked)
            return null;
        var mask = Tensor.Ones(n, steps);
        var rng = new Random(65);
        for (int s = 0; s < n; s++)
            for (int t = 0; t < rng.Next(steps); t++)
                mask[s * steps + t] = 0f; // pre-padding of random length
        return mask;
    }

    private static void CompareGru(int n, int steps, int d, int units, bool returnSequences, bool masked, bool goBackwards, bool dropout)
    {
        var x = Tensor.RandomUniform([n, steps, d], -1, 1, 61).AsParameter();
        var w = Tensor.RandomUniform([d, 3 * units], -0.3f, 0.3f, 62).AsParameter();
        var r = Tensor.RandomUniform([units, 3 * units], -0.3f, 0.3f, 63).AsParameter();
        var b = Tensor.RandomUniform([2, 3 * units], -0.5f, 0.5f, 64).AsParameter();
        Tensor? mask = RandomMask(n, steps, masked);
        Tensor? dm = dropout ? Ops.DropoutMask(n, d, 0.3f, new RandomStream(67)) : null;
        Tensor? rm = dropout ? Ops.DropoutMask(n, units, 0.25f, new RandomStream(68)) : null;
        Tensor dY = Tensor.RandomUniform(returnSequences ? [n, steps, units] : [n, units], -1, 1, 66);

        Tensor y = Ops.Gru(x, w, r, b, returnSequences, mask, goBackwards: goBackwards, dropoutMask: dm, recurrentDropoutMask: rm);
        Ops.Sum(Ops.Multiply(y, dY)).Backward();

        var (yRef, states) = GruReference.Forward(n, steps, d, units, x.ToArray(), w.ToArray(), r.ToArray(), b.ToArray(), returnSequences,
            mask?.ToArray(), goBackwards: goBackwards, inputDropout: dm?.ToArray(), recurrentDropout: rm?.ToArray());
        var (dx, dw, dr, db) = GruReference.Backward(n, steps, d, units, x.ToArray(), w.ToArray(), r.ToArray(), states, dY.ToArray(),
            returnSequences, mask?.ToArray(), goBackwards, dm?.ToArray(), rm?.ToArray());
        AssertClose(y.ToArray(), yRef, "GRU y");
        AssertClose(x.Grad!.ToArray(), dx, "GRU dX");
        AssertClose(w.Grad!.ToArray(), dw, "GRU dW");
        AssertClose(r.Grad!.ToArray(), dr, "GRU dR");
        AssertClose(b.Grad!.ToArray(), db, "GRU db");
    }

    private static void CompareSimpleRnn(int n, int steps, int d, int units, ActivationFunction activation, bool returnSequences, bool masked,
        bool goBackwards, bool dropout)
    {
        var x = Tensor.RandomUniform([n, steps, d], -1, 1, 71).AsParameter();
        // Contractive weights (spectral radius about 0.6): relu and linear RNNs would otherwise grow step after step
        // until float rounding, not the kernels, decides the last digits.
        float wLimit = 1f / MathF.Sqrt(d), rLimit = 1f / MathF.Sqrt(units);
        var w = Tensor.RandomUniform([d, units], -wLimit, wLimit, 72).AsParameter();
        var r = Tensor.RandomUniform([units, units], -rLimit, rLimit, 73).AsParameter();
        var b = Tensor.RandomUniform([units], -0.5f, 0.5f, 74).AsParameter();
        Tensor? mask = RandomMask(n, steps, masked);
        Tensor? dm = dropout ? Ops.DropoutMask(n, d, 0.3f, new RandomStream(77)) : null;
        Tensor? rm = dropout ? Ops.DropoutMask(n, units, 0.25f, new RandomStream(78)) : null;
        Tensor dY = Tensor.RandomUniform(returnSequences ? [n, steps, units] : [n, units], -1, 1, 76);

        Tensor y = Ops.SimpleRnn(x, w, r, b, activation, returnSequences, mask, goBackwards: goBackwards, dropoutMask: dm, recurrentDropoutMask: rm);
        Ops.Sum(Ops.Multiply(y, dY)).Backward();

        var (yRef, states) = SimpleRnnReference.Forward(n, steps, d, units, activation, x.ToArray(), w.ToArray(), r.ToArray(), b.ToArray(),
            returnSequences, mask?.ToArray(), goBackwards: goBackwards, inputDropout: dm?.ToArray(), recurrentDropout: rm?.ToArray());
        var (dx, dw, dr, db) = SimpleRnnReference.Backward(n, steps, d, units, activation, x.ToArray(), w.ToArray(), r.ToArray(), states,
            dY.ToArray(), returnSequences, mask?.ToArray(), goBackwards, dm?.ToArray(), rm?.ToArray());
        string what = $"SimpleRNN ({activation})";
        AssertClose(y.ToArray(), yRef, $"{what} y");
        AssertClose(x.Grad!.ToArray(), dx, $"{what} dX");
        AssertClose(w.Grad!.ToArray(), dw, $"{what} dW");
        AssertClose(r.Grad!.ToArray(), dr, $"{what} dR");
        AssertClose(b.Grad!.ToArray(), db, $"{what} db");
    }

    [Test]
    public void StatesCarryAcrossCalls()
    {
        // Running 6 steps at once equals running 2 then 4 with the state carried.
        int n = 3, d = 4, units = 6;
        var x = Tensor.RandomUniform([n, 6, d], -1, 1, 55);
        Tensor Steps(int start, int count) => Ops.Slice(x, 1, start, count);
        var w = Tensor.RandomUniform([d, 3 * units], -0.5f, 0.5f, 56);
        var r = Tensor.RandomUniform([units, 3 * units], -0.5f, 0.5f, 57);
        var b = Tensor.RandomUniform([2, 3 * units], -0.5f, 0.5f, 58);
        float[] whole = Ops.Gru(x, w, r, b).ToArray();
        var state = new HiddenState(n, units);
        Ops.Gru(Steps(0, 2), w, r, b, state: state);
        Assert.That(Ops.Gru(Steps(2, 4), w, r, b, state: state).ToArray(), Is.EqualTo(whole).Within(1e-5f).AsCollection);
        Assert.That(state.Hidden.ToArray(), Is.EqualTo(whole).Within(1e-5f).AsCollection);

        var ws = Tensor.RandomUniform([d, units], -0.5f, 0.5f, 59);
        var rs = Tensor.RandomUniform([units, units], -0.5f, 0.5f, 60);
        var bs = Tensor.RandomUniform([units], -0.5f, 0.5f, 61);
        float[] wholeRnn = Ops.SimpleRnn(x, ws, rs, bs).ToArray();
        var rnnState = new HiddenState(n, units);
        Ops.SimpleRnn(Steps(0, 2), ws, rs, bs, state: rnnState);
        Assert.That(Ops.SimpleRnn(Steps(2, 4), ws, rs, bs, state: rnnState).ToArray(), Is.EqualTo(wholeRnn).Within(1e-5f).AsCollection);
    }

    [Test]
    public void BadShapesAreNamed()
    {
        var x = Tensor.Zeros(2, 3, 4);
        var e = Assert.Throws<ArgumentException>(() => Ops.Gru(x, Tensor.Zeros(4, 9), Tensor.Zeros(3, 9), Tensor.Zeros(9)));
        Assert.That(e!.Message, Does.Contain("Gru bias").And.Contain("(2, 9)").And.Contain("(9)"));
        Assert.Throws<ArgumentException>(() => Ops.Gru(x, Tensor.Zeros(5, 9), Tensor.Zeros(3, 9), Tensor.Zeros(2, 9)));
        Assert.Throws<ArgumentException>(() => Ops.Gru(x, Tensor.Zeros(4, 8), Tensor.Zeros(3, 9), Tensor.Zeros(2, 9)));
        e = Assert.Throws<ArgumentException>(() => Ops.SimpleRnn(x, Tensor.Zeros(4, 3), Tensor.Zeros(2, 3), Tensor.Zeros(3)));
        Assert.That(e!.Message, Does.Contain("SimpleRnn recurrent kernel").And.Contain("(3, 3)").And.Contain("(2, 3)"));
        Assert.Throws<ArgumentException>(() => Ops.SimpleRnn(x, Tensor.Zeros(4, 3), Tensor.Zeros(3, 3), Tensor.Zeros(3), ActivationFunction.Softmax));
        Assert.Throws<ArgumentException>(() => Ops.SimpleRnn(x, Tensor.Zeros(4, 3), Tensor.Zeros(3, 3), Tensor.Zeros(3), mask: Tensor.Ones(2, 4)));
    }

    [Test]
    public void BitwiseIdenticalAtOneAndTwoThreads()
    {
        float[] Run(int threads)
        {
            int saved = Parallelism.MaxThreads;
            Parallelism.MaxThreads = threads;
            try
            {
                var x = Tensor.RandomUniform([32, 20, 64], -1, 1, 81).AsParameter();
                var w = Tensor.RandomUniform([64, 3 * 96], -0.2f, 0.2f, 82).AsParameter();
                var r = Tensor.RandomUniform([96, 3 * 96], -0.2f, 0.2f, 83).AsParameter();
                var b = Tensor.RandomUniform([2, 3 * 96], -0.5f, 0.5f, 84).AsParameter();
                var ws = Tensor.RandomUniform([64, 96], -0.2f, 0.2f, 85).AsParameter();
                var rs = Tensor.RandomUniform([96, 96], -0.2f, 0.2f, 86).AsParameter();
                var bs = Tensor.RandomUniform([96], -0.5f, 0.5f, 87).AsParameter();
                var random = new RandomStream(88);
                Tensor? dm = Ops.DropoutMask(32, 64, 0.2f, random), rm = Ops.DropoutMask(32, 96, 0.2f, random);
                Tensor g = Ops.Gru(x, w, r, b, returnSequences: true, goBackwards: true, dropoutMask: dm, recurrentDropoutMask: rm);
                Tensor s = Ops.SimpleRnn(x, ws, rs, bs, returnSequences: true, dropoutMask: dm, recurrentDropoutMask: rm);
                Ops.Sum(Ops.Multiply(Ops.Add(g, s), Tensor.RandomUniform([32, 20, 96], -1, 1, 89))).Backward();
                return [.. g.ToArray(), .. s.ToArray(), .. x.Grad!.ToArray(), .. w.Grad!.ToArray(), .. r.Grad!.ToArray(), .. b.Grad!.ToArray(),
                    .. ws.Grad!.ToArray(), .. rs.Grad!.ToArray(), .. bs.Grad!.ToArray()];
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

    private static void AssertClose(float[] actual, float[] expected, string what)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), what);
        for (int i = 0; i < expected.Length; i++)
            if (Math.Abs(actual[i] - expected[i]) > 2e-4f + 2e-4f * Math.Abs(expected[i]))
                Assert.Fail($"{what}[{i}]: fast {actual[i]}, reference {expected[i]}");
    }
}
