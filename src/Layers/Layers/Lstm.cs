namespace NanoNet.Layers;

/// <summary>
/// Long short-term memory layer with Keras semantics: input (N, T, D), output the last hidden state
/// (N, units), or every step's (N, T, units) with <c>returnSequences</c>.
/// </summary>
/// <remarks>
/// <para>Keras' defaults: gate order i, f, c, o; sigmoid gates and tanh cell; Glorot-uniform kernel
/// (D, 4·units); orthogonal recurrent kernel (units, 4·units); zero bias except the forget gate's slice,
/// which starts at 1 (<c>unit_forget_bias</c>). Parameters: 4·units·(D + units + 1).</para>
/// <para>The whole sequence runs in one op, <see cref="Ops.Lstm"/>, with full back-propagation through
/// time. After an <see cref="Embedding"/> with maskZero the padding steps are skipped. Dropout, going backwards
/// and state: see <see cref="RecurrentLayer"/>; a stateful LSTM carries h and c (see
/// <c>NextTokenSequences.ContinuousBatches</c> for a continuous stream).</para>
/// </remarks>
/// <param name="units">Hidden units.</param>
/// <param name="returnSequences">Return h for every step rather than the last one.</param>
/// <param name="stateful">Carry the state from one batch to the next.</param>
/// <param name="name">Layer name, or null for a default.</param>
/// <param name="dropout">Fraction of the inputs dropped while training (one mask per sequence), in [0, 1).</param>
/// <param name="recurrentDropout">Fraction of h_{t−1} dropped before the recurrent product while training, in [0, 1).</param>
/// <param name="goBackwards">Process the sequence last step first.</param>
/// <param name="seed">The seed of the dropout masks' generator.</param>
/// <param name="returnState">A call also returns the final state h and c (Keras' <c>return_state</c>): <c>var (output, h, c) = layer.Call(x)</c>.</param>
public sealed class Lstm(int units, bool returnSequences = false, bool stateful = false, string? name = null, float dropout = 0f,
    float recurrentDropout = 0f, bool goBackwards = false, int seed = 0, bool returnState = false)
    : RecurrentLayer("Lstm", units, returnSequences, stateful, name, dropout, recurrentDropout, goBackwards, seed, returnState)
{
    private Tensor? _kernel, _recurrentKernel, _bias;
    private LstmState? _state;

    /// <summary>The input kernel W, shape (D, 4·units), gates i, f, c, o side by side.</summary>
    public Tensor Kernel => _kernel ?? throw NotBuilt();

    /// <summary>The recurrent kernel R, shape (units, 4·units).</summary>
    public Tensor RecurrentKernel => _recurrentKernel ?? throw NotBuilt();

    /// <summary>The bias, shape (4·units).</summary>
    public Tensor Bias => _bias ?? throw NotBuilt();

    /// <summary>The carried state of a stateful layer (null before its first batch or for a stateless layer).</summary>
    public LstmState? State => _state;

    /// <inheritdoc />
    protected internal override string DefaultName => "lstm";

    /// <summary>Sets the carried state of a stateful layer back to zero.</summary>
    public void ResetStates() => _state?.Reset();

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape)
    {
        int inputs = Features(inputShape, "Lstm"), gates = 4 * Units;
        int units = Units;
        _kernel = AddWeight("kernel", [inputs, gates], (w, rng) => Initializers.GlorotUniform(w, inputs, gates, rng));
        _recurrentKernel = AddWeight("recurrent_kernel", [units, gates], (w, rng) => Initializers.Orthogonal(w, units, gates, rng));
        _bias = AddWeight("bias", [gates], (w, _) =>
        {
            w.Clear();
            w.Slice(units, units).Fill(1f); // unit_forget_bias
        });
        return OutputShapeFor(inputShape);
    }

    /// <inheritdoc />
    private protected override RecurrentOutputs Run(Tensor x, ReadOnlySpan<Tensor> initialState, bool training, bool wantStates)
    {
        LstmState? state = null;
        if (Stateful)
        {
            if (_state is null || _state.Batch != x.Dim(0))
                _state = new LstmState(x.Dim(0), Units);
            state = _state;
        }
        var (dropoutMask, recurrentMask) = DropoutMasks(x, training);
        if (!wantStates && initialState.IsEmpty)
            return new(Ops.Lstm(x, Kernel, RecurrentKernel, Bias, ReturnSequences, x.Mask, state, GoBackwards, dropoutMask, recurrentMask), null, null);
        // A given initial state wins over a carried one; a stateful layer then carries the final state on.
        Tensor? h0 = initialState.IsEmpty ? state?.Hidden : initialState[0], c0 = initialState.IsEmpty ? state?.Cell : initialState[1];
        RecurrentOutputs result = Ops.LstmWithStates(x, Kernel, RecurrentKernel, Bias, ReturnSequences, x.Mask, h0, c0, GoBackwards,
            dropoutMask, recurrentMask);
        if (state is not null)
        {
            result.Hidden!.Span.CopyTo(state.Hidden.Span);
            result.Cell!.Span.CopyTo(state.Cell.Span);
        }
        return result;
    }

    /// <summary>Whether training can run this layer with its embedding as one op: no dropout masks are drawn (an input
    /// mask per sequence gives each position of an id its own input, so there is nothing to share).</summary>
    internal bool CanRunOnEmbeddingInTraining => RunsOnEmbeddingInTraining && Dropout == 0f && RecurrentDropout == 0f;

    /// <summary>Off in tests that train a model's Embedding → LSTM pair as two calls, to compare.</summary>
    internal static bool RunsOnEmbeddingInTraining = true;

    /// <summary>
    /// This layer on <paramref name="embedding"/>'s output for <paramref name="ids"/> in one op
    /// (<see cref="Ops.LstmOnEmbedding"/>: each distinct id's x·W once): what a model runs when the embedding is this
    /// layer's only input. At inference bit for bit <c>Forward(embedding.Forward(ids))</c>, mask included; when recording,
    /// the same forward on AVX-512 and gradients equal within rounding. In training only when
    /// <see cref="CanRunOnEmbeddingInTraining"/>.
    /// </summary>
    internal Tensor ForwardOnEmbedding(Tensor ids, Embedding embedding)
    {
        embedding.CheckIds(ids);
        bool masked = embedding.MaskZero && ids.Rank == 2;
        Tensor y = Ops.LstmOnEmbedding(ids, embedding.Table, Kernel, RecurrentKernel, Bias, ReturnSequences, masked, GoBackwards);
        if (ReturnSequences && masked) // as the two calls: the embedding's padding mask, passed on with every step
            y.Mask = Ops.PaddingMask(ids);
        return y;
    }

    private protected override string[] StateNames => s_stateNames;

    private static readonly string[] s_stateNames = ["h", "c"];
}
