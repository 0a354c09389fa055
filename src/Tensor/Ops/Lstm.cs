using NanoNet.Diagnostics;
using NanoNet.Autograd;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// A whole-sequence LSTM with Keras semantics: x (N, T, D), kernel W (D, 4U), recurrent kernel R
    /// (U, 4U) and bias (4U), gates in Keras' order i, f, c (candidate), o. Returns the last hidden state
    /// (N, U), or every step's (N, T, U) when <paramref name="returnSequences"/> is set.
    /// </summary>
    /// <remarks>
    /// <para>Per step: z = x_t·W + h_{t−1}·R + b; i, f, o = σ(z); g = tanh(z); c_t = f⊙c_{t−1} + i⊙g;
    /// h_t = o⊙tanh(c_t); the state starts at zero (or at <paramref name="state"/>).</para>
    /// <para>Backward is full back-propagation through the T steps into x, W, R and b. The fast layout (one
    /// GEMM for the input projection of every step, one fused 4-gate GEMM and one SIMD pass per step,
    /// the weight gradients as large GEMMs at the end) is described in <see cref="LstmKernels"/>; the
    /// tape keeps the time-major input copy, the activated gates, and the h, c and tanh c histories.</para>
    /// </remarks>
    /// <param name="x">Input (N, T, D), T ≥ 1.</param>
    /// <param name="kernel">W, (D, 4U).</param>
    /// <param name="recurrentKernel">R, (U, 4U).</param>
    /// <param name="bias">b, (4U).</param>
    /// <param name="returnSequences">Return h for every step rather than the last one.</param>
    /// <param name="mask">Optional (N, T): 0 marks a step to skip (e.g. padding); a skipped step carries
    /// h and c unchanged, so with return sequences its output repeats the previous h. Not differentiated.</param>
    /// <param name="state">Optional state carried between calls (truncated back-propagation through time):
    /// the sequence starts from it and it is overwritten with the final state. No gradient flows into it.</param>
    /// <param name="goBackwards">Read the steps last to first (Keras' <c>go_backwards</c>); a returned sequence is
    /// then in processing order (its step 0 is input step T−1), as Keras returns it.</param>
    /// <param name="dropoutMask">Optional (N, D), Keras' <c>dropout</c>: each sequence's inputs are multiplied by its
    /// row at every step (a scaled keep-mask, 0 or 1/(1 − rate), e.g. from <see cref="DropoutMask"/>). Not differentiated.</param>
    /// <param name="recurrentDropoutMask">Optional (N, U), Keras' <c>recurrent_dropout</c>: h_{t−1} is multiplied by
    /// its sequence's row before the recurrent product, at every step. Not differentiated.</param>
    public static Tensor Lstm(Tensor x, Tensor kernel, Tensor recurrentKernel, Tensor bias, bool returnSequences = false,
        Tensor? mask = null, LstmState? state = null, bool goBackwards = false, Tensor? dropoutMask = null,
        Tensor? recurrentDropoutMask = null) =>
        LstmCore(x, kernel, recurrentKernel, bias, returnSequences, mask, state, goBackwards, dropoutMask, recurrentDropoutMask,
            wantStates: false, null, null).Output;

    /// <summary>
    /// <see cref="Lstm(Tensor, Tensor, Tensor, Tensor, bool, Tensor?, LstmState?, bool, Tensor?, Tensor?)"/> that also returns
    /// the final hidden and cell states (Keras' <c>return_state</c>) and may start from given states (Keras'
    /// <c>initial_state</c>); gradients flow back from the states and into the initial states.
    /// </summary>
    /// <remarks>
    /// The final state is the one after the last processed step: with a mask, the state at the last unmasked step (masked
    /// steps carry it); with <paramref name="goBackwards"/>, the state after input step 0. So the hidden state equals the
    /// last step of the returned sequence. Its gradient seeds the recurrence's dh (and the cell's, dc) at the last step.
    /// </remarks>
    /// <param name="x">Input (N, T, D), T ≥ 1.</param>
    /// <param name="kernel">W, (D, 4U).</param>
    /// <param name="recurrentKernel">R, (U, 4U).</param>
    /// <param name="bias">b, (4U).</param>
    /// <param name="returnSequences">The main output is h for every step rather than the last one.</param>
    /// <param name="mask">Optional (N, T): 0 marks a step to skip.</param>
    /// <param name="initialHidden">Optional h₋₁, (N, U); with <paramref name="initialCell"/>, or neither (zero state).</param>
    /// <param name="initialCell">Optional c₋₁, (N, U).</param>
    /// <param name="goBackwards">Read the steps last to first.</param>
    /// <param name="dropoutMask">Optional (N, D) input dropout keep-mask.</param>
    /// <param name="recurrentDropoutMask">Optional (N, U) recurrent dropout keep-mask.</param>
    /// <returns>The output, h_T (N, U) and c_T (N, U).</returns>
    public static RecurrentOutputs LstmWithStates(Tensor x, Tensor kernel, Tensor recurrentKernel, Tensor bias, bool returnSequences = false,
        Tensor? mask = null, Tensor? initialHidden = null, Tensor? initialCell = null, bool goBackwards = false,
        Tensor? dropoutMask = null, Tensor? recurrentDropoutMask = null)
    {
        if ((initialHidden is null) != (initialCell is null))
            throw new ArgumentException("Lstm initial state needs both h and c (or neither).");
        return LstmCore(x, kernel, recurrentKernel, bias, returnSequences, mask, null, goBackwards, dropoutMask, recurrentDropoutMask,
            wantStates: true, initialHidden, initialCell);
    }

    private static RecurrentOutputs LstmCore(Tensor x, Tensor kernel, Tensor recurrentKernel, Tensor bias, bool returnSequences,
        Tensor? mask, LstmState? state, bool goBackwards, Tensor? dropoutMask, Tensor? recurrentDropoutMask,
        bool wantStates, Tensor? initialHidden, Tensor? initialCell)
    {
        long started = Profiler.Start();
        var (n, t, d, u) = CheckRecurrentShapes("Lstm", 4, x, kernel, recurrentKernel, mask);
        if (bias.Rank != 1 || bias.Length != 4 * u)
            throw new ArgumentException($"Lstm bias must be ({4 * u}), got {Shapes.Format(bias.Shape)}.");
        if (state is not null && (state.Hidden.Dim(0) != n || state.Units != u))
            throw new ArgumentException($"Lstm state is ({state.Hidden.Dim(0)}, {state.Units}) but the batch needs ({n}, {u}).");
        CheckDropoutMask("Lstm", "dropout", dropoutMask, n, d);
        CheckDropoutMask("Lstm", "recurrent dropout", recurrentDropoutMask, n, u);
        CheckInitialState("Lstm", "h", initialHidden, n, u);
        CheckInitialState("Lstm", "c", initialCell, n, u);

        var shape = new LstmShape(n, t, d, u) { GoBackwards = goBackwards };
        shape.Validate(); // before any buffer is sized by it

        bool initialNeedsGrad = initialHidden is not null && (initialHidden.RequiresGrad || initialCell!.RequiresGrad);
        bool recording = Tape.ShouldRecord(x, kernel) || Tape.IsRecording && (recurrentKernel.RequiresGrad || bias.RequiresGrad || initialNeedsGrad);
        if (!recording && dropoutMask is null && recurrentDropoutMask is null && LstmInference.Applies(n))
        {
            // Nothing will be back-propagated: stream through the steps with only the running state (same bits; see LstmInference).
            Tensor output = returnSequences ? Tensor.Empty(n, t, u) : Tensor.Empty(n, u);
            Tensor lastHidden = Tensor.Empty(n, u), lastCell = Tensor.Empty(n, u), scratch = Tensor.Empty(LstmInference.ScratchLength(shape));
            LstmInference.Forward(shape, x.Span, kernel.Span, recurrentKernel.Span, bias.Span, SpanOf(mask),
                state is not null ? state.Hidden.Span : SpanOf(initialHidden), state is not null ? state.Cell.Span : SpanOf(initialCell),
                output.Span, returnSequences, lastHidden.Span, lastCell.Span, scratch.Span);
            if (state is not null)
            {
                lastHidden.Span.CopyTo(state.Hidden.Span);
                lastCell.Span.CopyTo(state.Cell.Span);
            }
            Profiler.Stop("Lstm", started, LstmFlops(shape));
            return new RecurrentOutputs(output, wantStates ? lastHidden : null, wantStates ? lastCell : null);
        }
        // The buffers backward needs; the record holding them is made only when recording (inference allocates nothing).
        Tensor inputTimeMajor = Tensor.Empty(shape.InputLength), gates = Tensor.Empty(shape.GatesLength),
            hidden = Tensor.Empty(shape.HistoryLength), cell = Tensor.Empty(shape.HistoryLength), tanhCell = Tensor.Empty(shape.TanhLength),
            droppedHidden = Tensor.Empty(shape.DroppedHiddenLength(recurrentDropoutMask is not null));
        Tensor y = returnSequences ? Tensor.Empty(n, t, u) : Tensor.Empty(n, u);
        LstmKernels.Forward(shape, x.Span, kernel.Span, recurrentKernel.Span, bias.Span,
            SpanOf(mask), state is not null ? state.Hidden.Span : SpanOf(initialHidden), state is not null ? state.Cell.Span : SpanOf(initialCell),
            y.Span, returnSequences,
            new LstmBuffers
            {
                InputTimeMajor = inputTimeMajor.Span, Gates = gates.Span, Hidden = hidden.Span, Cell = cell.Span, TanhCell = tanhCell.Span,
                DroppedHidden = droppedHidden.Span,
            },
            SpanOf(dropoutMask), SpanOf(recurrentDropoutMask));
        if (state is not null)
        {
            hidden.Span.Slice(t * shape.StateLength, shape.StateLength).CopyTo(state.Hidden.Span);
            cell.Span.Slice(t * shape.StateLength, shape.StateLength).CopyTo(state.Cell.Span);
        }
        Tensor? finalHidden = null, finalCell = null;
        if (wantStates) // copies of the last history blocks: outputs of their own, which a loss may use
        {
            finalHidden = Tensor.Empty(n, u);
            finalCell = Tensor.Empty(n, u);
            hidden.Span.Slice(t * shape.StateLength, shape.StateLength).CopyTo(finalHidden.Span);
            cell.Span.Slice(t * shape.StateLength, shape.StateLength).CopyTo(finalCell.Span);
        }
        if (recording)
        {
            var entry = LstmEntry.Rent(y, finalHidden, finalCell, mask, state is not null || initialHidden is not null, shape, returnSequences,
                new LstmSaved(inputTimeMajor, gates, hidden, cell, tanhCell, droppedHidden), dropoutMask, recurrentDropoutMask,
                initialHidden, initialCell);
            if (initialHidden is null)
                Tape.Record(entry, x, kernel, recurrentKernel, bias);
            else
                Tape.Record(entry, [x, kernel, recurrentKernel, bias, initialHidden, initialCell!]);
        }
        Profiler.Stop("Lstm", started, LstmFlops(shape));
        return new RecurrentOutputs(y, finalHidden, finalCell);
    }

    /// <summary>The tensors the forward pass keeps for backward.</summary>
    private readonly record struct LstmSaved(Tensor InputTimeMajor, Tensor Gates, Tensor Hidden, Tensor Cell, Tensor TanhCell, Tensor DroppedHidden)
    {
        // A method, not a property: a record's generated PrintMembers prints every public property, and
        // LstmBuffers is a ref struct, which cannot be printed (NativeAOT compiles that method to a throw).
        public LstmBuffers Buffers() => new()
        {
            InputTimeMajor = InputTimeMajor.Span, Gates = Gates.Span, Hidden = Hidden.Span, Cell = Cell.Span, TanhCell = TanhCell.Span,
            DroppedHidden = DroppedHidden.Span,
        };
    }

    /// <summary>Forward GEMM flops: the input projection (T·N×D·D×4U) plus T recurrent products (N×U·U×4U).</summary>
    private static double LstmFlops(in LstmShape s) => 2.0 * s.Rows * s.GateWidth * (s.Inputs + s.Units);

    // x, kernel, recurrentKernel and bias are the recorded inputs 0–3 (read back with GetInput); the initial states, when
    // given, are inputs 4 and 5 and also kept here, with everything else backward reads.
    private sealed class LstmEntry : TapeEntry
    {
        // The call's arguments and saved buffers: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor? finalHidden, finalCell, mask, dropoutMask, recurrentDropoutMask, initialHidden, initialCell;
        private bool hasInitialState, returnSequences;
        private LstmShape shape;
        private LstmSaved saved;

        public static LstmEntry Rent(Tensor y, Tensor? finalHidden, Tensor? finalCell, Tensor? mask, bool hasInitialState, LstmShape shape,
            bool returnSequences, LstmSaved saved, Tensor? dropoutMask, Tensor? recurrentDropoutMask, Tensor? initialHidden, Tensor? initialCell)
        {
            LstmEntry entry = Rent<LstmEntry>(y);
            entry.SetMoreOutputs(finalHidden, finalCell); // the final states, outputs of their own (none unless asked for)
            (entry.finalHidden, entry.finalCell, entry.mask, entry.hasInitialState) = (finalHidden, finalCell, mask, hasInitialState);
            (entry.shape, entry.returnSequences, entry.saved) = (shape, returnSequences, saved);
            (entry.dropoutMask, entry.recurrentDropoutMask) = (dropoutMask, recurrentDropoutMask);
            (entry.initialHidden, entry.initialCell) = (initialHidden, initialCell);
            return entry;
        }

        // dh_{t−1} per step, then dW, dR (and dX when the input needs it): each as many flops as a forward GEMM.
        public override double BackwardFlops => LstmFlops(shape) * (GetInput(0).RequiresGrad ? 2 : 1.5);

        public override void Backward(Tensor dY)
        {
            Tensor x = GetInput(0), kernel = GetInput(1), recurrentKernel = GetInput(2), bias = GetInput(3);
            bool wantInput = x.RequiresGrad;
            // dZ over the saved gates when no pass comes through again (each step reads its gates, then overwrites
            // them): no fresh T·N×4U buffer whose first write reads memory (benchmarks/README.md, "Twentieth sitting").
            Span<float> dGates = Tape.ConsumingGraph ? saved.Gates.Span : Tensor.Empty(shape.GatesLength).Span;
            Tensor scratch = Tensor.Empty(shape.BackwardScratchLength(wantInput));
            bool overwrite = false; // a new dX is not cleared first: every element is one step's product, stored
            LstmKernels.Backward(shape, returnSequences, kernel.Span, recurrentKernel.Span, SpanOf(mask),
                hasInitialState, saved.Buffers(), dY.Span, dGates, scratch.Span,
                wantInput ? x.GradForFirstWrite(out overwrite).Span : default,
                kernel.RequiresGrad ? kernel.EnsureGrad().Span : default,
                recurrentKernel.RequiresGrad ? recurrentKernel.EnsureGrad().Span : default,
                bias.RequiresGrad ? bias.EnsureGrad().Span : default, SpanOf(dropoutMask), SpanOf(recurrentDropoutMask),
                SpanOf(finalHidden?.Grad), SpanOf(finalCell?.Grad), GradientOf(initialHidden), GradientOf(initialCell), overwrite);
        }
    }
}

/// <summary>
/// An LSTM's hidden and cell state (N, U) carried from one call of <see cref="Ops.Lstm"/> to the next,
/// for truncated back-propagation through time (Keras' <c>stateful=True</c>) and for sampling step by step.
/// </summary>
public sealed class LstmState
{
    /// <summary>A zero state for <paramref name="batch"/> sequences of <paramref name="units"/> units.</summary>
    public LstmState(int batch, int units)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        ArgumentOutOfRangeException.ThrowIfLessThan(units, 1);
        Hidden = Tensor.Zeros(batch, units);
        Cell = Tensor.Zeros(batch, units);
    }

    /// <summary>h, (N, U).</summary>
    public Tensor Hidden { get; }

    /// <summary>c, (N, U).</summary>
    public Tensor Cell { get; }

    /// <summary>Number of sequences.</summary>
    public int Batch => Hidden.Dim(0);

    /// <summary>Number of units.</summary>
    public int Units => Hidden.Dim(1);

    /// <summary>Sets h and c back to zero.</summary>
    public void Reset()
    {
        Hidden.Span.Clear();
        Cell.Span.Clear();
    }

}
