using NanoNet.Autograd;

namespace NanoNet.Tests;

/// <summary>
/// The recurrent ops' final states (Keras' <c>return_state</c>) and initial states (<c>initial_state</c>):
/// central-difference gradient checks through the states, with masks, going backwards and dropout; the values
/// the states take; agreement with the carried state of a stateful call; bitwise equality across thread counts.
/// </summary>
public class RecurrentStateOpTests
{
    private static readonly string[] Kinds = ["lstm", "gru", "rnn"];

    /// <summary>Pre-padding, a hole in the middle, a fully masked sequence (its state stays the initial one).</summary>
    private static Tensor Mask() => Tensor.FromArray([0, 0, 1, 1, 1, 0, 1, 1, 0, 0, 0, 0], 3, 4);

    private const int N = 3, Steps = 4, Features = 2, Units = 3;

    private static int Gates(string kind) => kind switch { "lstm" => 4, "gru" => 3, _ => 1 };

    private static bool HasCell(string kind) => kind == "lstm";

    /// <summary>Small random weights of a layer of <paramref name="kind"/> (kernel, recurrent kernel, bias).</summary>
    private static (Tensor W, Tensor R, Tensor B) Weights(string kind, int seed)
    {
        int gates = Gates(kind);
        Tensor w = Scaled(GradientCheck.Random([Features, gates * Units], seed), 0.6f);
        Tensor r = Scaled(GradientCheck.Random([Units, gates * Units], seed + 1), 0.4f);
        Tensor b = Scaled(GradientCheck.Random(kind == "gru" ? [2, 3 * Units] : [gates * Units], seed + 2), 0.5f);
        return (w, r, b);
    }

    private static RecurrentOutputs Run(string kind, Tensor x, Tensor w, Tensor r, Tensor b, bool returnSequences, Tensor? mask,
        bool goBackwards, Tensor? h0, Tensor? c0, Tensor? dropout = null, Tensor? recurrentDropout = null) => kind switch
        {
            "lstm" => Ops.LstmWithStates(x, w, r, b, returnSequences, mask, h0, c0, goBackwards, dropout, recurrentDropout),
            "gru" => Ops.GruWithState(x, w, r, b, returnSequences, mask, h0, goBackwards, dropout, recurrentDropout),
            _ => Ops.SimpleRnnWithState(x, w, r, b, ActivationFunction.Tanh, returnSequences, mask, h0, goBackwards, dropout, recurrentDropout),
        };

    /// <summary>Every output side by side, (N, ·): the loss of the gradient check weighs each with its own random weight.</summary>
    private static Tensor AllOutputs(RecurrentOutputs outputs) =>
        Ops.Concat([Ops.Reshape(outputs.Output, outputs.Output.Dim(0), -1), outputs.Hidden!, .. outputs.Cell is null ? Array.Empty<Tensor>() : [outputs.Cell]], 1);

    private static IEnumerable<TestCaseData> StateCases() =>
        from kind in Kinds
        from returnSequences in new[] { false, true }
        from masked in new[] { false, true }
        from goBackwards in new[] { false, true }
        select new TestCaseData(kind, returnSequences, masked, goBackwards);

    [TestCaseSource(nameof(StateCases))]
    public void GradientsFlowThroughTheStatesAndIntoTheInitialStates(string kind, bool returnSequences, bool masked, bool goBackwards)
    {
        Tensor? mask = masked ? Mask() : null;
        Tensor x = GradientCheck.Random([N, Steps, Features], 11);
        var (w, r, b) = Weights(kind, 12);
        Tensor h0 = Scaled(GradientCheck.Random([N, Units], 15), 0.8f), c0 = Scaled(GradientCheck.Random([N, Units], 16), 0.8f);
        Tensor[] inputs = HasCell(kind) ? [x, w, r, b, h0, c0] : [x, w, r, b, h0];
        GradientCheck.Check(t => AllOutputs(Run(kind, t[0], t[1], t[2], t[3], returnSequences, mask, goBackwards, t[4], HasCell(kind) ? t[5] : null)),
            inputs);
    }

    [TestCaseSource(nameof(StateOnlyCases))]
    public void ALossOnTheStatesAloneTrainsEveryWeight(string kind, bool masked, bool goBackwards)
    {
        // The main output feeds nothing: the op's backward must still run, seeded by the states' gradients only.
        Tensor? mask = masked ? Mask() : null;
        Tensor x = GradientCheck.Random([N, Steps, Features], 21);
        var (w, r, b) = Weights(kind, 22);
        GradientCheck.Check(t =>
        {
            RecurrentOutputs outputs = Run(kind, t[0], t[1], t[2], t[3], returnSequences: true, mask, goBackwards, null, null);
            return outputs.Cell is null ? outputs.Hidden! : Ops.Concat([outputs.Hidden!, outputs.Cell], 1);
        }, [x, w, r, b]);
    }

    private static IEnumerable<TestCaseData> StateOnlyCases() =>
        from kind in Kinds
        from masked in new[] { false, true }
        from goBackwards in new[] { false, true }
        select new TestCaseData(kind, masked, goBackwards);

    [TestCaseSource(nameof(Kinds))]
    public void StateGradientsWithDropoutAMaskAndGoingBackwards(string kind)
    {
        Tensor mask = Mask();
        Tensor dropout = Ops.DropoutMask(N, Features, 0.4f, new RandomStream(1))!;
        Tensor recurrent = Ops.DropoutMask(N, Units, 0.4f, new RandomStream(2))!;
        Assert.That(recurrent.ToArray(), Has.Some.Zero.And.Some.EqualTo(1f / 0.6f));
        Tensor x = GradientCheck.Random([N, Steps, Features], 31);
        var (w, r, b) = Weights(kind, 32);
        Tensor h0 = Scaled(GradientCheck.Random([N, Units], 35), 0.8f), c0 = Scaled(GradientCheck.Random([N, Units], 36), 0.8f);
        Tensor[] inputs = HasCell(kind) ? [x, w, r, b, h0, c0] : [x, w, r, b, h0];
        GradientCheck.Check(t => AllOutputs(Run(kind, t[0], t[1], t[2], t[3], returnSequences: false, mask, goBackwards: true, t[4],
            HasCell(kind) ? t[5] : null, dropout, recurrent)), inputs);
    }

    [Test]
    public void TheHiddenStateIsTheLastStepOfTheSequence([ValueSource(nameof(Kinds))] string kind, [Values] bool masked, [Values] bool goBackwards)
    {
        Tensor? mask = masked ? Mask() : null;
        Tensor x = GradientCheck.Random([N, Steps, Features], 41);
        var (w, r, b) = Weights(kind, 42);
        RecurrentOutputs sequence = Run(kind, x, w, r, b, returnSequences: true, mask, goBackwards, null, null);
        RecurrentOutputs last = Run(kind, x, w, r, b, returnSequences: false, mask, goBackwards, null, null);
        // Masked steps repeat the previous output, so the last step of the (processing-order) sequence is the final state.
        float[] lastStep = Ops.Slice(sequence.Output, 1, Steps - 1, 1).ToArray();
        Assert.That(sequence.Hidden!.ToArray(), Is.EqualTo(lastStep));
        Assert.That(last.Hidden!.ToArray(), Is.EqualTo(last.Output.ToArray()));
        Assert.That(last.Hidden!.ToArray(), Is.EqualTo(lastStep));
        Assert.That(lastStep, Has.Some.Not.Zero);
        if (masked) // sequence 2 is all padding: its state never left zero
            Assert.That(sequence.Hidden!.ToArray()[(2 * Units)..], Is.All.Zero);
    }

    [Test]
    public void WithAMaskTheStateIsTheOneAtTheLastUnmaskedStep([ValueSource(nameof(Kinds))] string kind)
    {
        // Steps 0 and 1 real, then padding: the final state is the one after step 1, as if the padding were not there.
        Tensor mask = Tensor.FromArray([1, 1, 0, 0], 1, 4);
        Tensor x = GradientCheck.Random([1, Steps, Features], 51);
        var (w, r, b) = Weights(kind, 52);
        Tensor c0 = GradientCheck.Random([1, Units], 54);
        Tensor h0 = GradientCheck.Random([1, Units], 53);
        RecurrentOutputs padded = Run(kind, x, w, r, b, returnSequences: false, mask, goBackwards: false, h0, HasCell(kind) ? c0 : null);
        RecurrentOutputs cut = Run(kind, Ops.Slice(x, 1, 0, 2), w, r, b, returnSequences: false, null, goBackwards: false, h0, HasCell(kind) ? c0 : null);
        Assert.That(padded.Hidden!.ToArray(), Is.EqualTo(cut.Hidden!.ToArray()));
        if (HasCell(kind))
            Assert.That(padded.Cell!.ToArray(), Is.EqualTo(cut.Cell!.ToArray()));
    }

    [Test]
    public void GoingBackwardsTheStateIsTheOneAfterInputStepZero([ValueSource(nameof(Kinds))] string kind)
    {
        // Going backwards over x is going forwards over x reversed in time.
        Tensor x = GradientCheck.Random([N, Steps, Features], 61);
        var (w, r, b) = Weights(kind, 62);
        RecurrentOutputs backwards = Run(kind, x, w, r, b, returnSequences: false, null, goBackwards: true, null, null);
        RecurrentOutputs reversed = Run(kind, Ops.IndexSelect(x, 1, [3, 2, 1, 0]), w, r, b, returnSequences: false, null, goBackwards: false, null, null);
        Assert.That(backwards.Hidden!.ToArray(), Is.EqualTo(reversed.Hidden!.ToArray()));
        if (HasCell(kind))
            Assert.That(backwards.Cell!.ToArray(), Is.EqualTo(reversed.Cell!.ToArray()));
    }

    [Test]
    public void AnInitialStateGivesWhatTheCarriedStateOfAStatefulCallGives([ValueSource(nameof(Kinds))] string kind)
    {
        Tensor x = GradientCheck.Random([N, Steps, Features], 71);
        var (w, r, b) = Weights(kind, 72);
        Tensor h0 = GradientCheck.Random([N, Units], 73), c0 = GradientCheck.Random([N, Units], 74);
        RecurrentOutputs given = Run(kind, x, w, r, b, returnSequences: true, Mask(), goBackwards: false, h0, HasCell(kind) ? c0 : null);
        Tensor carried;
        float[] finalHidden, finalCell = [];
        switch (kind)
        {
            case "lstm":
                var lstmState = new LstmState(N, Units);
                h0.Span.CopyTo(lstmState.Hidden.Span);
                c0.Span.CopyTo(lstmState.Cell.Span);
                carried = Ops.Lstm(x, w, r, b, returnSequences: true, Mask(), lstmState);
                (finalHidden, finalCell) = (lstmState.Hidden.ToArray(), lstmState.Cell.ToArray());
                break;
            default:
                var state = new HiddenState(N, Units);
                h0.Span.CopyTo(state.Hidden.Span);
                carried = kind == "gru" ? Ops.Gru(x, w, r, b, returnSequences: true, Mask(), state)
                    : Ops.SimpleRnn(x, w, r, b, ActivationFunction.Tanh, returnSequences: true, Mask(), state);
                finalHidden = state.Hidden.ToArray();
                break;
        }
        Assert.That(given.Output.ToArray(), Is.EqualTo(carried.ToArray()));
        Assert.That(given.Hidden!.ToArray(), Is.EqualTo(finalHidden));
        if (HasCell(kind))
            Assert.That(given.Cell!.ToArray(), Is.EqualTo(finalCell));
    }

    [Test]
    public void StateGradientsAreIdenticalAtOneAndManyThreads([ValueSource(nameof(Kinds))] string kind)
    {
        float[][] one = StateGradients(kind, threads: 1), many = StateGradients(kind, threads: null);
        for (int i = 0; i < one.Length; i++)
            Assert.That(many[i], Is.EqualTo(one[i]), $"gradient {i}");
    }

    private static float[][] StateGradients(string kind, int? threads)
    {
        using Parallelism.ThreadLimitScope limit = Parallelism.LimitThreads(threads);
        int n = 64, t = 6, d = 16, u = 48, gates = Gates(kind);
        Tensor x = Tensor.RandomUniform([n, t, d], -1f, 1f, 81);
        Tensor w = Tensor.RandomUniform([d, gates * u], -0.2f, 0.2f, 82), r = Tensor.RandomUniform([u, gates * u], -0.2f, 0.2f, 83);
        Tensor b = Tensor.RandomUniform(kind == "gru" ? [2, 3 * u] : [gates * u], -0.2f, 0.2f, 84);
        Tensor h0 = Tensor.RandomUniform([n, u], -1f, 1f, 85), c0 = Tensor.RandomUniform([n, u], -1f, 1f, 86);
        Tensor[] all = [x, w, r, b, h0, c0];
        foreach (Tensor tensor in all)
            tensor.RequiresGrad = true;
        RecurrentOutputs outputs = kind switch
        {
            "lstm" => Ops.LstmWithStates(x, w, r, b, initialHidden: h0, initialCell: c0),
            "gru" => Ops.GruWithState(x, w, r, b, initialHidden: h0),
            _ => Ops.SimpleRnnWithState(x, w, r, b, initialHidden: h0),
        };
        Tensor weights = Tensor.RandomUniform([n, outputs.Cell is null ? 2 * u : 3 * u], -1f, 1f, 87);
        Ops.Sum(Ops.Multiply(AllOutputs(outputs), weights)).Backward();
        return [.. all.Where(tensor => tensor.Grad is not null).Select(tensor => tensor.Grad!.ToArray())];
    }

    [Test]
    public void AnInitialStateOfTheWrongShapeIsRefusedWithBothShapes()
    {
        Tensor x = GradientCheck.Random([N, Steps, Features], 91);
        var (w, r, b) = Weights("lstm", 92);
        var e = Assert.Throws<ArgumentException>(() => Ops.LstmWithStates(x, w, r, b, initialHidden: Tensor.Zeros(N, Units + 1), initialCell: Tensor.Zeros(N, Units)))!;
        Assert.That(e.Message, Does.Contain("Lstm initial state h must be (3, 3)").And.Contain("(3, 4)"));
        e = Assert.Throws<ArgumentException>(() => Ops.LstmWithStates(x, w, r, b, initialHidden: Tensor.Zeros(N, Units)))!;
        Assert.That(e.Message, Does.Contain("both h and c"));
    }

    private static Tensor Scaled(Tensor t, float factor)
    {
        System.Numerics.Tensors.TensorPrimitives.Multiply(t.Span, factor, t.Span);
        return t;
    }
}
