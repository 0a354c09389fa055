using NanoNet.Autograd;
using NanoNet.Diagnostics;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// A whole-sequence simple RNN (Keras' <c>SimpleRNN</c>): h_t = act(x_t·W + h_{t−1}·R + b) with x (N, T, D),
    /// kernel W (D, U), recurrent kernel R (U, U), bias (U) and act tanh (Keras' default), relu or linear. Returns
    /// the last hidden state (N, U), or every step's (N, T, U) when <paramref name="returnSequences"/> is set.
    /// </summary>
    /// <remarks>Backward is full back-propagation through the T steps into x, W, R and b; the layout is described in
    /// <see cref="SimpleRnnKernels"/>. Masks, state, going backwards and dropout masks work as in <see cref="Gru"/>.</remarks>
    /// <param name="x">Input (N, T, D), T ≥ 1.</param>
    /// <param name="kernel">W, (D, U).</param>
    /// <param name="recurrentKernel">R, (U, U).</param>
    /// <param name="bias">b, (U).</param>
    /// <param name="activation">Tanh, Relu or Linear.</param>
    /// <param name="returnSequences">Return h for every step rather than the last one.</param>
    /// <param name="mask">Optional (N, T): 0 marks a step to skip (h is carried). Not differentiated.</param>
    /// <param name="state">Optional state carried between calls; overwritten with the final state. No gradient flows into it.</param>
    /// <param name="goBackwards">Read the steps last to first; a returned sequence is in processing order.</param>
    /// <param name="dropoutMask">Optional (N, D) scaled keep-mask multiplying each sequence's inputs at every step.</param>
    /// <param name="recurrentDropoutMask">Optional (N, U) scaled keep-mask multiplying h_{t−1} before the recurrent product.</param>
    public static Tensor SimpleRnn(Tensor x, Tensor kernel, Tensor recurrentKernel, Tensor bias,
        ActivationFunction activation = ActivationFunction.Tanh, bool returnSequences = false, Tensor? mask = null,
        HiddenState? state = null, bool goBackwards = false, Tensor? dropoutMask = null, Tensor? recurrentDropoutMask = null) =>
        SimpleRnnCore(x, kernel, recurrentKernel, bias, activation, returnSequences, mask, state, goBackwards, dropoutMask,
            recurrentDropoutMask, wantStates: false, null).Output;

    /// <summary>
    /// <see cref="SimpleRnn(Tensor, Tensor, Tensor, Tensor, ActivationFunction, bool, Tensor?, HiddenState?, bool, Tensor?, Tensor?)"/>
    /// that also returns the final hidden state (Keras' <c>return_state</c>) and may start from a given one (Keras'
    /// <c>initial_state</c>); gradients flow back from the state and into the initial state. The final state is the one
    /// after the last processed step (see <see cref="LstmWithStates"/>).
    /// </summary>
    /// <param name="x">Input (N, T, D), T ≥ 1.</param>
    /// <param name="kernel">W, (D, U).</param>
    /// <param name="recurrentKernel">R, (U, U).</param>
    /// <param name="bias">b, (U).</param>
    /// <param name="activation">Tanh, Relu or Linear.</param>
    /// <param name="returnSequences">The main output is h for every step rather than the last one.</param>
    /// <param name="mask">Optional (N, T): 0 marks a step to skip.</param>
    /// <param name="initialHidden">Optional h₋₁, (N, U) (null: zero state).</param>
    /// <param name="goBackwards">Read the steps last to first.</param>
    /// <param name="dropoutMask">Optional (N, D) input dropout keep-mask.</param>
    /// <param name="recurrentDropoutMask">Optional (N, U) recurrent dropout keep-mask.</param>
    /// <returns>The output and h_T (N, U).</returns>
    public static RecurrentOutputs SimpleRnnWithState(Tensor x, Tensor kernel, Tensor recurrentKernel, Tensor bias,
        ActivationFunction activation = ActivationFunction.Tanh, bool returnSequences = false, Tensor? mask = null,
        Tensor? initialHidden = null, bool goBackwards = false, Tensor? dropoutMask = null, Tensor? recurrentDropoutMask = null) =>
        SimpleRnnCore(x, kernel, recurrentKernel, bias, activation, returnSequences, mask, null, goBackwards, dropoutMask,
            recurrentDropoutMask, wantStates: true, initialHidden);

    private static RecurrentOutputs SimpleRnnCore(Tensor x, Tensor kernel, Tensor recurrentKernel, Tensor bias,
        ActivationFunction activation, bool returnSequences, Tensor? mask, HiddenState? state, bool goBackwards, Tensor? dropoutMask,
        Tensor? recurrentDropoutMask, bool wantStates, Tensor? initialHidden)
    {
        long started = Profiler.Start();
        var (n, t, d, u) = CheckRecurrentShapes("SimpleRnn", 1, x, kernel, recurrentKernel, mask);
        if (bias.Rank != 1 || bias.Length != u)
            throw new ArgumentException($"SimpleRnn bias must be ({u}), got {Shapes.Format(bias.Shape)}.");
        if (!SimpleRnnKernels.Supports(activation))
            throw new ArgumentException($"SimpleRnn supports the activations tanh, relu and linear, got {activation}.", nameof(activation));
        if (state is not null && (state.Batch != n || state.Units != u))
            throw new ArgumentException($"SimpleRnn state is ({state.Batch}, {state.Units}) but the batch needs ({n}, {u}).");
        CheckDropoutMask("SimpleRnn", "dropout", dropoutMask, n, d);
        CheckDropoutMask("SimpleRnn", "recurrent dropout", recurrentDropoutMask, n, u);
        CheckInitialState("SimpleRnn", "h", initialHidden, n, u);

        var shape = new SimpleRnnShape(n, t, d, u) { GoBackwards = goBackwards };
        shape.Validate(); // before any buffer is sized by it

        var saved = new SimpleRnnSaved(
            Tensor.Empty(shape.InputLength),
            Tensor.Empty(shape.ProjectionLength),
            Tensor.Empty(shape.HistoryLength),
            Tensor.Empty(shape.DroppedHiddenLength(recurrentDropoutMask is not null)));
        Tensor y = returnSequences ? Tensor.Empty(n, t, u) : Tensor.Empty(n, u);
        SimpleRnnKernels.Forward(shape, activation, x.Span, kernel.Span, recurrentKernel.Span, bias.Span, SpanOf(mask),
            state is not null ? state.Hidden.Span : SpanOf(initialHidden), y.Span, returnSequences, saved.Buffers(), SpanOf(dropoutMask),
            SpanOf(recurrentDropoutMask));
        state?.Set(saved.Hidden.Span.Slice(t * shape.StateLength, shape.StateLength));
        Tensor? finalHidden = wantStates ? FinalState(saved.Hidden, t, n, u) : null;
        if (Tape.ShouldRecord(x, kernel) || Tape.IsRecording && (recurrentKernel.RequiresGrad || bias.RequiresGrad || initialHidden is { RequiresGrad: true }))
        {
            var entry = SimpleRnnEntry.Rent(y, finalHidden, activation, mask, state is not null || initialHidden is not null, shape, returnSequences,
                saved, dropoutMask, recurrentDropoutMask, initialHidden);
            if (initialHidden is null)
                Tape.Record(entry, x, kernel, recurrentKernel, bias);
            else
                Tape.Record(entry, [x, kernel, recurrentKernel, bias, initialHidden]);
        }
        Profiler.Stop("SimpleRnn", started, SimpleRnnFlops(shape));
        return new RecurrentOutputs(y, finalHidden, null);
    }

    /// <summary>The tensors the forward pass keeps for backward.</summary>
    private readonly record struct SimpleRnnSaved(Tensor InputTimeMajor, Tensor Projection, Tensor Hidden, Tensor DroppedHidden)
    {
        // A method, not a property: SimpleRnnBuffers is a ref struct, which a record's PrintMembers cannot print.
        public SimpleRnnBuffers Buffers() => new()
        {
            InputTimeMajor = InputTimeMajor.Span, Projection = Projection.Span, Hidden = Hidden.Span, DroppedHidden = DroppedHidden.Span,
        };
    }

    /// <summary>Forward GEMM flops: the input projection (T·N×D·D×U) plus T recurrent products (N×U·U×U).</summary>
    private static double SimpleRnnFlops(in SimpleRnnShape s) => 2.0 * s.Rows * s.Units * (s.Inputs + s.Units);

    // x, kernel, recurrentKernel and bias are the recorded inputs 0–3 (read back with GetInput); the initial state, when
    // given, is input 4 and also kept here, with everything else backward reads.
    private sealed class SimpleRnnEntry : TapeEntry
    {
        // The call's arguments and saved buffers: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor? finalHidden, mask, dropoutMask, recurrentDropoutMask, initialHidden;
        private ActivationFunction activation;
        private bool hasInitialState, returnSequences;
        private SimpleRnnShape shape;
        private SimpleRnnSaved saved;

        public static SimpleRnnEntry Rent(Tensor y, Tensor? finalHidden, ActivationFunction activation, Tensor? mask, bool hasInitialState,
            SimpleRnnShape shape, bool returnSequences, SimpleRnnSaved saved, Tensor? dropoutMask, Tensor? recurrentDropoutMask, Tensor? initialHidden)
        {
            SimpleRnnEntry entry = Rent<SimpleRnnEntry>(y);
            entry.SetMoreOutputs(finalHidden); // the final state, an output of its own (none unless asked for)
            (entry.finalHidden, entry.activation, entry.mask, entry.hasInitialState) = (finalHidden, activation, mask, hasInitialState);
            (entry.shape, entry.returnSequences, entry.saved) = (shape, returnSequences, saved);
            (entry.dropoutMask, entry.recurrentDropoutMask, entry.initialHidden) = (dropoutMask, recurrentDropoutMask, initialHidden);
            return entry;
        }

        public override double BackwardFlops => SimpleRnnFlops(shape) * (GetInput(0).RequiresGrad ? 2 : 1.5);

        public override void Backward(Tensor dY)
        {
            Tensor x = GetInput(0), kernel = GetInput(1), recurrentKernel = GetInput(2), bias = GetInput(3);
            bool wantInput = x.RequiresGrad;
            Tensor dProjection = Tensor.Empty(shape.ProjectionLength);
            Tensor scratch = Tensor.Empty(shape.BackwardScratchLength(wantInput));
            bool overwrite = false; // a new dX is written whole, not cleared and added to
            SimpleRnnKernels.Backward(shape, activation, returnSequences, kernel.Span, recurrentKernel.Span, SpanOf(mask), hasInitialState,
                saved.Buffers(), dY.Span, dProjection.Span, scratch.Span,
                wantInput ? x.GradForFirstWrite(out overwrite).Span : default,
                kernel.RequiresGrad ? kernel.EnsureGrad().Span : default,
                recurrentKernel.RequiresGrad ? recurrentKernel.EnsureGrad().Span : default,
                bias.RequiresGrad ? bias.EnsureGrad().Span : default, SpanOf(dropoutMask), SpanOf(recurrentDropoutMask),
                SpanOf(finalHidden?.Grad), GradientOf(initialHidden), overwrite);
        }
    }
}
