using NanoNet.Autograd;
using NanoNet.Diagnostics;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// A whole-sequence GRU with Keras semantics (<c>reset_after=True</c>, Keras' default): x (N, T, D), kernel W
    /// (D, 3U), recurrent kernel R (U, 3U) and bias (2, 3U) (row 0 for the inputs, row 1 for the recurrent
    /// products), gates in Keras' order z (update), r (reset), h (candidate). Returns the last hidden state (N, U),
    /// or every step's (N, T, U) when <paramref name="returnSequences"/> is set.
    /// </summary>
    /// <remarks>
    /// <para>Per step, with x̂ = x_t·W + b_W and ĥ = h_{t−1}·R + b_R: z = σ(x̂_z + ĥ_z); r = σ(x̂_r + ĥ_r);
    /// c = tanh(x̂_h + r⊙ĥ_h); h_t = z⊙h_{t−1} + (1 − z)⊙c. The state starts at zero (or at <paramref name="state"/>).</para>
    /// <para>Backward is full back-propagation through the T steps into x, W, R and b; the layout (one GEMM for
    /// the input projection of every step, one fused 3-gate GEMM and one SIMD pass per step) is described in
    /// <see cref="GruKernels"/>.</para>
    /// </remarks>
    /// <param name="x">Input (N, T, D), T ≥ 1.</param>
    /// <param name="kernel">W, (D, 3U).</param>
    /// <param name="recurrentKernel">R, (U, 3U).</param>
    /// <param name="bias">b, (2, 3U).</param>
    /// <param name="returnSequences">Return h for every step rather than the last one.</param>
    /// <param name="mask">Optional (N, T): 0 marks a step to skip; a skipped step carries h unchanged (and, with
    /// return sequences, outputs the previous h). Not differentiated.</param>
    /// <param name="state">Optional state carried between calls: the sequence starts from it and it is overwritten
    /// with the final state. No gradient flows into it.</param>
    /// <param name="goBackwards">Read the steps last to first; a returned sequence is in processing order.</param>
    /// <param name="dropoutMask">Optional (N, D) scaled keep-mask multiplying each sequence's inputs at every step.</param>
    /// <param name="recurrentDropoutMask">Optional (N, U) scaled keep-mask multiplying h_{t−1} before the recurrent
    /// product at every step (the mixing z⊙h_{t−1} uses h itself).</param>
    public static Tensor Gru(Tensor x, Tensor kernel, Tensor recurrentKernel, Tensor bias, bool returnSequences = false,
        Tensor? mask = null, HiddenState? state = null, bool goBackwards = false, Tensor? dropoutMask = null,
        Tensor? recurrentDropoutMask = null) =>
        GruCore(x, kernel, recurrentKernel, bias, returnSequences, mask, state, goBackwards, dropoutMask, recurrentDropoutMask,
            wantStates: false, null).Output;

    /// <summary>
    /// <see cref="Gru(Tensor, Tensor, Tensor, Tensor, bool, Tensor?, HiddenState?, bool, Tensor?, Tensor?)"/> that also returns
    /// the final hidden state (Keras' <c>return_state</c>) and may start from a given one (Keras' <c>initial_state</c>);
    /// gradients flow back from the state and into the initial state. The final state is the one after the last processed
    /// step (see <see cref="LstmWithStates"/>).
    /// </summary>
    /// <param name="x">Input (N, T, D), T ≥ 1.</param>
    /// <param name="kernel">W, (D, 3U).</param>
    /// <param name="recurrentKernel">R, (U, 3U).</param>
    /// <param name="bias">b, (2, 3U).</param>
    /// <param name="returnSequences">The main output is h for every step rather than the last one.</param>
    /// <param name="mask">Optional (N, T): 0 marks a step to skip.</param>
    /// <param name="initialHidden">Optional h₋₁, (N, U) (null: zero state).</param>
    /// <param name="goBackwards">Read the steps last to first.</param>
    /// <param name="dropoutMask">Optional (N, D) input dropout keep-mask.</param>
    /// <param name="recurrentDropoutMask">Optional (N, U) recurrent dropout keep-mask.</param>
    /// <returns>The output and h_T (N, U).</returns>
    public static RecurrentOutputs GruWithState(Tensor x, Tensor kernel, Tensor recurrentKernel, Tensor bias, bool returnSequences = false,
        Tensor? mask = null, Tensor? initialHidden = null, bool goBackwards = false, Tensor? dropoutMask = null,
        Tensor? recurrentDropoutMask = null) =>
        GruCore(x, kernel, recurrentKernel, bias, returnSequences, mask, null, goBackwards, dropoutMask, recurrentDropoutMask,
            wantStates: true, initialHidden);

    private static RecurrentOutputs GruCore(Tensor x, Tensor kernel, Tensor recurrentKernel, Tensor bias, bool returnSequences,
        Tensor? mask, HiddenState? state, bool goBackwards, Tensor? dropoutMask, Tensor? recurrentDropoutMask,
        bool wantStates, Tensor? initialHidden)
    {
        long started = Profiler.Start();
        var (n, t, d, u) = CheckRecurrentShapes("Gru", 3, x, kernel, recurrentKernel, mask);
        if (bias.Rank != 2 || bias.Dim(0) != 2 || bias.Dim(1) != 3 * u)
            throw new ArgumentException($"Gru bias must be (2, {3 * u}) (input bias, recurrent bias), got {Shapes.Format(bias.Shape)}.");
        if (state is not null && (state.Batch != n || state.Units != u))
            throw new ArgumentException($"Gru state is ({state.Batch}, {state.Units}) but the batch needs ({n}, {u}).");
        CheckDropoutMask("Gru", "dropout", dropoutMask, n, d);
        CheckDropoutMask("Gru", "recurrent dropout", recurrentDropoutMask, n, u);
        CheckInitialState("Gru", "h", initialHidden, n, u);

        var shape = new GruShape(n, t, d, u) { GoBackwards = goBackwards };
        shape.Validate(); // before any buffer is sized by it

        var saved = new GruSaved(
            Tensor.Empty(shape.InputLength),
            Tensor.Empty(shape.GatesLength),
            Tensor.Empty(shape.HistoryLength),
            Tensor.Empty(shape.CandidateLength),
            Tensor.Empty(shape.DroppedHiddenLength(recurrentDropoutMask is not null)));
        Tensor y = returnSequences ? Tensor.Empty(n, t, u) : Tensor.Empty(n, u);
        GruKernels.Forward(shape, x.Span, kernel.Span, recurrentKernel.Span, bias.Span, SpanOf(mask),
            state is not null ? state.Hidden.Span : SpanOf(initialHidden), y.Span, returnSequences, saved.Buffers(),
            Tensor.Empty(shape.ForwardScratchLength).Span, SpanOf(dropoutMask), SpanOf(recurrentDropoutMask));
        state?.Set(saved.Hidden.Span.Slice(t * shape.StateLength, shape.StateLength));
        Tensor? finalHidden = wantStates ? FinalState(saved.Hidden, t, n, u) : null;
        if (Tape.ShouldRecord(x, kernel) || Tape.IsRecording && (recurrentKernel.RequiresGrad || bias.RequiresGrad || initialHidden is { RequiresGrad: true }))
        {
            var entry = GruEntry.Rent(y, finalHidden, mask, state is not null || initialHidden is not null, shape, returnSequences, saved,
                dropoutMask, recurrentDropoutMask, initialHidden);
            if (initialHidden is null)
                Tape.Record(entry, x, kernel, recurrentKernel, bias);
            else
                Tape.Record(entry, [x, kernel, recurrentKernel, bias, initialHidden]);
        }
        Profiler.Stop("Gru", started, GruFlops(shape));
        return new RecurrentOutputs(y, finalHidden, null);
    }

    /// <summary>A copy of block T of a (T+1)·N×U state history: the final state, (N, U), an output of its own.</summary>
    private static Tensor FinalState(Tensor history, int t, int n, int u)
    {
        Tensor final = Tensor.Empty(n, u);
        history.Span.Slice(t * n * u, n * u).CopyTo(final.Span);
        return final;
    }

    /// <summary>The tensors the forward pass keeps for backward.</summary>
    private readonly record struct GruSaved(Tensor InputTimeMajor, Tensor Gates, Tensor Hidden, Tensor Candidate, Tensor DroppedHidden)
    {
        // A method, not a property: GruBuffers is a ref struct, which a record's PrintMembers cannot print.
        public GruBuffers Buffers() => new()
        {
            InputTimeMajor = InputTimeMajor.Span, Gates = Gates.Span, Hidden = Hidden.Span, Candidate = Candidate.Span,
            DroppedHidden = DroppedHidden.Span,
        };
    }

    /// <summary>Forward GEMM flops: the input projection (T·N×D·D×3U) plus T recurrent products (N×U·U×3U).</summary>
    private static double GruFlops(in GruShape s) => 2.0 * s.Rows * s.GateWidth * (s.Inputs + s.Units);

    // x, kernel, recurrentKernel and bias are the recorded inputs 0–3 (read back with GetInput); the initial state, when
    // given, is input 4 and also kept here, with everything else backward reads.
    private sealed class GruEntry : TapeEntry
    {
        // The call's arguments and saved buffers: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor? finalHidden, mask, dropoutMask, recurrentDropoutMask, initialHidden;
        private bool hasInitialState, returnSequences;
        private GruShape shape;
        private GruSaved saved;

        public static GruEntry Rent(Tensor y, Tensor? finalHidden, Tensor? mask, bool hasInitialState, GruShape shape, bool returnSequences,
            GruSaved saved, Tensor? dropoutMask, Tensor? recurrentDropoutMask, Tensor? initialHidden)
        {
            GruEntry entry = Rent<GruEntry>(y);
            entry.SetMoreOutputs(finalHidden); // the final state, an output of its own (none unless asked for)
            (entry.finalHidden, entry.mask, entry.hasInitialState, entry.shape) = (finalHidden, mask, hasInitialState, shape);
            (entry.returnSequences, entry.saved, entry.dropoutMask, entry.recurrentDropoutMask) = (returnSequences, saved, dropoutMask, recurrentDropoutMask);
            entry.initialHidden = initialHidden;
            return entry;
        }

        // dh_{t−1} per step, then dW, dR (and dX when the input needs it): each as many flops as a forward GEMM.
        public override double BackwardFlops => GruFlops(shape) * (GetInput(0).RequiresGrad ? 2 : 1.5);

        public override void Backward(Tensor dY)
        {
            Tensor x = GetInput(0), kernel = GetInput(1), recurrentKernel = GetInput(2), bias = GetInput(3);
            bool wantInput = x.RequiresGrad;
            // dX̂ over the saved gates when no pass comes through again (as Lstm does with its dZ).
            Span<float> dInput = Tape.ConsumingGraph ? saved.Gates.Span : Tensor.Empty(shape.GatesLength).Span;
            Tensor dRecurrent = Tensor.Empty(shape.GatesLength);
            Tensor scratch = Tensor.Empty(shape.BackwardScratchLength(wantInput));
            bool overwrite = false; // a new dX is written whole, not cleared and added to
            GruKernels.Backward(shape, returnSequences, kernel.Span, recurrentKernel.Span, SpanOf(mask), hasInitialState,
                saved.Buffers(), dY.Span, dInput, dRecurrent.Span, scratch.Span,
                wantInput ? x.GradForFirstWrite(out overwrite).Span : default,
                kernel.RequiresGrad ? kernel.EnsureGrad().Span : default,
                recurrentKernel.RequiresGrad ? recurrentKernel.EnsureGrad().Span : default,
                bias.RequiresGrad ? bias.EnsureGrad().Span : default, SpanOf(dropoutMask), SpanOf(recurrentDropoutMask),
                SpanOf(finalHidden?.Grad), GradientOf(initialHidden), overwrite);
        }
    }
}

/// <summary>
/// A GRU's or simple RNN's hidden state (N, U) carried from one call of <see cref="Ops.Gru"/> or
/// <see cref="Ops.SimpleRnn"/> to the next (Keras' <c>stateful=True</c>, and <c>return_state</c>).
/// </summary>
public sealed class HiddenState
{
    /// <summary>A zero state for <paramref name="batch"/> sequences of <paramref name="units"/> units.</summary>
    public HiddenState(int batch, int units)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        ArgumentOutOfRangeException.ThrowIfLessThan(units, 1);
        Hidden = Tensor.Zeros(batch, units);
    }

    /// <summary>h, (N, U).</summary>
    public Tensor Hidden { get; }

    /// <summary>Number of sequences.</summary>
    public int Batch => Hidden.Dim(0);

    /// <summary>Number of units.</summary>
    public int Units => Hidden.Dim(1);

    /// <summary>Sets h back to zero.</summary>
    public void Reset() => Hidden.Span.Clear();

    internal void Set(ReadOnlySpan<float> values) => values.CopyTo(Hidden.Span);
}
