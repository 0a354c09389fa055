namespace NanoNet.Layers;

/// <summary>
/// Gated recurrent unit layer with Keras semantics (<c>reset_after=True</c>, Keras' default and cuDNN's form):
/// input (N, T, D), output the last hidden state (N, units), or every step's (N, T, units) with <c>returnSequences</c>.
/// </summary>
/// <remarks>
/// <para>Keras' defaults and weight layout: gate order z (update), r (reset), h (candidate); sigmoid gates, tanh
/// candidate; Glorot-uniform kernel (D, 3·units); orthogonal recurrent kernel (units, 3·units); zero bias of shape
/// (2, 3·units), row 0 added to the input projection and row 1 to the recurrent one (the reset gate multiplies the
/// latter). Parameters: 3·units·(D + units + 2).</para>
/// <para>The whole sequence runs in one op, <see cref="Ops.Gru"/>. Masks, dropout, going backwards and state: see
/// <see cref="RecurrentLayer"/>.</para>
/// </remarks>
/// <param name="units">Hidden units.</param>
/// <param name="returnSequences">Return h for every step rather than the last one.</param>
/// <param name="stateful">Carry the state from one batch to the next.</param>
/// <param name="name">Layer name, or null for a default.</param>
/// <param name="dropout">Fraction of the inputs dropped while training (one mask per sequence), in [0, 1).</param>
/// <param name="recurrentDropout">Fraction of h_{t−1} dropped before the recurrent product while training, in [0, 1).</param>
/// <param name="goBackwards">Process the sequence last step first.</param>
/// <param name="seed">The seed of the dropout masks' generator.</param>
/// <param name="returnState">A call also returns the final state h (Keras' <c>return_state</c>): <c>var (output, h) = layer.Call(x)</c>.</param>
public sealed class Gru(int units, bool returnSequences = false, bool stateful = false, string? name = null, float dropout = 0f,
    float recurrentDropout = 0f, bool goBackwards = false, int seed = 0, bool returnState = false)
    : RecurrentLayer("Gru", units, returnSequences, stateful, name, dropout, recurrentDropout, goBackwards, seed, returnState)
{
    private Tensor? _kernel, _recurrentKernel, _bias;
    private HiddenState? _state;

    /// <summary>The input kernel W, shape (D, 3·units), gates z, r, h side by side.</summary>
    public Tensor Kernel => _kernel ?? throw NotBuilt();

    /// <summary>The recurrent kernel R, shape (units, 3·units).</summary>
    public Tensor RecurrentKernel => _recurrentKernel ?? throw NotBuilt();

    /// <summary>The bias, shape (2, 3·units): the input bias, then the recurrent bias.</summary>
    public Tensor Bias => _bias ?? throw NotBuilt();

    /// <summary>The carried state of a stateful layer (null before its first batch or for a stateless layer).</summary>
    public HiddenState? State => _state;

    /// <inheritdoc />
    protected internal override string DefaultName => "gru";

    /// <summary>Sets the carried state of a stateful layer back to zero.</summary>
    public void ResetStates() => _state?.Reset();

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape)
    {
        int inputs = Features(inputShape, "Gru"), units = Units, gates = 3 * units;
        _kernel = AddWeight("kernel", [inputs, gates], (w, rng) => Initializers.GlorotUniform(w, inputs, gates, rng));
        _recurrentKernel = AddWeight("recurrent_kernel", [units, gates], (w, rng) => Initializers.Orthogonal(w, units, gates, rng));
        _bias = AddWeight("bias", [2, gates], Zeros);
        return OutputShapeFor(inputShape);
    }

    /// <inheritdoc />
    private protected override RecurrentOutputs Run(Tensor x, ReadOnlySpan<Tensor> initialState, bool training, bool wantStates)
    {
        if (Stateful && (_state is null || _state.Batch != x.Dim(0)))
            _state = new HiddenState(x.Dim(0), Units);
        var (dropoutMask, recurrentMask) = DropoutMasks(x, training);
        if (!wantStates && initialState.IsEmpty)
            return new(Ops.Gru(x, Kernel, RecurrentKernel, Bias, ReturnSequences, x.Mask, Stateful ? _state : null, GoBackwards,
                dropoutMask, recurrentMask), null, null);
        // A given initial state wins over a carried one; a stateful layer then carries the final state on.
        Tensor? h0 = initialState.IsEmpty ? _state?.Hidden : initialState[0];
        RecurrentOutputs result = Ops.GruWithState(x, Kernel, RecurrentKernel, Bias, ReturnSequences, x.Mask, h0, GoBackwards,
            dropoutMask, recurrentMask);
        if (_state is not null)
            result.Hidden!.Span.CopyTo(_state.Hidden.Span);
        return result;
    }
}
