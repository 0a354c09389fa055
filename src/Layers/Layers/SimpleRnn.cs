namespace NanoNet.Layers;

/// <summary>
/// Keras' <c>SimpleRNN</c>: h_t = activation(x_t·W + h_{t−1}·R + b) over input (N, T, D); output the last hidden
/// state (N, units), or every step's (N, T, units) with <c>returnSequences</c>.
/// </summary>
/// <remarks>
/// <para>Keras' defaults: tanh (relu and linear are also supported); Glorot-uniform kernel (D, units); orthogonal
/// recurrent kernel (units, units); zero bias (units). Parameters: units·(D + units + 1).</para>
/// <para>The whole sequence runs in one op, <see cref="Ops.SimpleRnn"/>. Masks, dropout, going backwards and state:
/// see <see cref="RecurrentLayer"/>.</para>
/// </remarks>
public sealed class SimpleRnn : RecurrentLayer
{
    private Tensor? _kernel, _recurrentKernel, _bias;
    private HiddenState? _state;

    /// <summary>A simple RNN layer of <paramref name="units"/> units.</summary>
    /// <param name="units">Hidden units.</param>
    /// <param name="activation">Tanh (Keras' default), Relu or Linear.</param>
    /// <param name="returnSequences">Return h for every step rather than the last one.</param>
    /// <param name="stateful">Carry the state from one batch to the next.</param>
    /// <param name="name">Layer name, or null for a default.</param>
    /// <param name="dropout">Fraction of the inputs dropped while training (one mask per sequence), in [0, 1).</param>
    /// <param name="recurrentDropout">Fraction of h_{t−1} dropped before the recurrent product while training, in [0, 1).</param>
    /// <param name="goBackwards">Process the sequence last step first.</param>
    /// <param name="seed">The seed of the dropout masks' generator.</param>
    /// <param name="returnState">A call also returns the final state h (Keras' <c>return_state</c>): <c>var (output, h) = layer.Call(x)</c>.</param>
    public SimpleRnn(int units, ActivationFunction activation = ActivationFunction.Tanh, bool returnSequences = false, bool stateful = false,
        string? name = null, float dropout = 0f, float recurrentDropout = 0f, bool goBackwards = false, int seed = 0, bool returnState = false)
        : base("SimpleRnn", units, returnSequences, stateful, name, dropout, recurrentDropout, goBackwards, seed, returnState)
    {
        if (!Kernels.SimpleRnnKernels.Supports(activation))
            throw new ArgumentException($"SimpleRnn supports the activations tanh, relu and linear, got {ActivationNames.Of(activation)}.", nameof(activation));
        Activation = activation;
    }

    /// <summary>The activation applied at every step.</summary>
    public ActivationFunction Activation { get; }

    /// <summary>The input kernel W, shape (D, units).</summary>
    public Tensor Kernel => _kernel ?? throw NotBuilt();

    /// <summary>The recurrent kernel R, shape (units, units).</summary>
    public Tensor RecurrentKernel => _recurrentKernel ?? throw NotBuilt();

    /// <summary>The bias, shape (units).</summary>
    public Tensor Bias => _bias ?? throw NotBuilt();

    /// <summary>The carried state of a stateful layer (null before its first batch or for a stateless layer).</summary>
    public HiddenState? State => _state;

    /// <inheritdoc />
    protected internal override string DefaultName => "simple_rnn";

    /// <summary>Sets the carried state of a stateful layer back to zero.</summary>
    public void ResetStates() => _state?.Reset();

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape)
    {
        int inputs = Features(inputShape, "SimpleRnn"), units = Units;
        _kernel = AddWeight("kernel", [inputs, units], (w, rng) => Initializers.GlorotUniform(w, inputs, units, rng));
        _recurrentKernel = AddWeight("recurrent_kernel", [units, units], (w, rng) => Initializers.Orthogonal(w, units, units, rng));
        _bias = AddWeight("bias", [units], Zeros);
        return OutputShapeFor(inputShape);
    }

    /// <inheritdoc />
    private protected override RecurrentOutputs Run(Tensor x, ReadOnlySpan<Tensor> initialState, bool training, bool wantStates)
    {
        if (Stateful && (_state is null || _state.Batch != x.Dim(0)))
            _state = new HiddenState(x.Dim(0), Units);
        var (dropoutMask, recurrentMask) = DropoutMasks(x, training);
        if (!wantStates && initialState.IsEmpty)
            return new(Ops.SimpleRnn(x, Kernel, RecurrentKernel, Bias, Activation, ReturnSequences, x.Mask, Stateful ? _state : null,
                GoBackwards, dropoutMask, recurrentMask), null, null);
        // A given initial state wins over a carried one; a stateful layer then carries the final state on.
        Tensor? h0 = initialState.IsEmpty ? _state?.Hidden : initialState[0];
        RecurrentOutputs result = Ops.SimpleRnnWithState(x, Kernel, RecurrentKernel, Bias, Activation, ReturnSequences, x.Mask, h0,
            GoBackwards, dropoutMask, recurrentMask);
        if (_state is not null)
            result.Hidden!.Span.CopyTo(_state.Hidden.Span);
        return result;
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().Set("activation", ActivationNames.Of(Activation));

    /// <inheritdoc />
    public override string Describe() => base.Describe() + (Activation == ActivationFunction.Tanh ? "" : ", " + ActivationNames.Of(Activation));
}
