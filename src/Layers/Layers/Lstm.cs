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
/// time. After an <see cref="Embedding"/> with maskZero the padding steps are skipped.</para>
/// <para>With <c>stateful</c> (Keras' <c>stateful=True</c>) the final state of each batch is the initial
/// state of the next, row by row — truncated back-propagation through time over a continuous stream
/// (see <c>NextTokenSequences.ContinuousBatches</c>); no gradient crosses a batch boundary. Call
/// <see cref="ResetStates"/> where the stream restarts; a batch of a different size starts from zero.</para>
/// <para><c>dropout</c> and <c>recurrentDropout</c> follow Keras: while training, each sequence of the batch
/// draws one input mask (D values) and one recurrent mask (units values), used at every step; the inputs,
/// and h_{t−1} before the recurrent product, are multiplied by them (inverted dropout: kept values are scaled by
/// 1/(1 − rate)). They come from the layer's own <see cref="RandomStream"/> (seed <see cref="Seed"/>, stream
/// <see cref="RandomStreamIds.RecurrentDropout"/>), input mask first, so a run is reproducible and bit-identical
/// at any thread count; <see cref="RandomState"/> is saved and restored like <see cref="Layers.Dropout.RandomState"/>.</para>
/// <para><c>goBackwards</c> reads the sequence last step first; with <c>returnSequences</c> the steps come out
/// in that (reversed) order, as in Keras.</para>
/// </remarks>
public sealed class Lstm : Layer, IRecurrentLayer
{
    private Tensor? _kernel, _recurrentKernel, _bias;
    private LstmState? _state;
    private readonly RandomStream _random;

    /// <summary>An LSTM layer of <paramref name="units"/> units.</summary>
    /// <param name="units">Hidden units.</param>
    /// <param name="returnSequences">Return h for every step rather than the last one.</param>
    /// <param name="stateful">Carry the state from one batch to the next.</param>
    /// <param name="name">Layer name, or null for a default.</param>
    /// <param name="dropout">Fraction of the inputs dropped while training (one mask per sequence), in [0, 1).</param>
    /// <param name="recurrentDropout">Fraction of h_{t−1} dropped before the recurrent product while training, in [0, 1).</param>
    /// <param name="goBackwards">Process the sequence last step first.</param>
    /// <param name="seed">The seed of the dropout masks' generator.</param>
    public Lstm(int units, bool returnSequences = false, bool stateful = false, string? name = null, float dropout = 0f,
        float recurrentDropout = 0f, bool goBackwards = false, int seed = 0) : base(name)
    {
        Units = units > 0 ? units : throw new ArgumentOutOfRangeException(nameof(units), units, "Lstm needs at least one unit.");
        ReturnSequences = returnSequences;
        Stateful = stateful;
        Dropout = RecurrentArguments.Check(dropout, nameof(dropout));
        RecurrentDropout = RecurrentArguments.Check(recurrentDropout, nameof(recurrentDropout));
        GoBackwards = goBackwards;
        Seed = seed;
        _random = new RandomStream((uint)seed, RandomStreamIds.RecurrentDropout);
    }

    /// <summary>Hidden units.</summary>
    public int Units { get; }

    /// <summary>Whether every step's hidden state is returned.</summary>
    public bool ReturnSequences { get; }

    /// <summary>Whether the state carries over from one batch to the next.</summary>
    public bool Stateful { get; }

    /// <summary>Fraction of the inputs dropped while training (Keras' <c>dropout</c>).</summary>
    public float Dropout { get; }

    /// <summary>Fraction of the recurrent state dropped while training (Keras' <c>recurrent_dropout</c>).</summary>
    public float RecurrentDropout { get; }

    /// <summary>Whether the sequence is processed last step first (Keras' <c>go_backwards</c>).</summary>
    public bool GoBackwards { get; }

    /// <summary>The seed of the dropout masks' generator.</summary>
    public int Seed { get; }

    /// <summary>The dropout masks' generator state, for a checkpoint to save and restore (see <see cref="Layers.Dropout.RandomState"/>).</summary>
    public RandomStreamState RandomState
    {
        get => _random.State;
        set => _random.Restore(value);
    }

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
        if (inputShape.Length != 2)
            throw new ArgumentException($"Layer '{Name}' (Lstm) needs per-example input (time steps, features), got {Shapes.Format(inputShape)}.");
        int inputs = inputShape[1], gates = 4 * Units;
        int units = Units;
        _kernel = AddWeight("kernel", [inputs, gates], (w, rng) => Initializers.GlorotUniform(w, inputs, gates, rng));
        _recurrentKernel = AddWeight("recurrent_kernel", [units, gates], (w, rng) => Initializers.Orthogonal(w, units, gates, rng));
        _bias = AddWeight("bias", [gates], (w, _) =>
        {
            w.Clear();
            w.Slice(units, units).Fill(1f); // unit_forget_bias
        });
        return ReturnSequences ? [inputShape[0], Units] : [Units];
    }

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training)
    {
        LstmState? state = null;
        if (Stateful)
        {
            if (_state is null || _state.Batch != x.Dim(0))
                _state = new LstmState(x.Dim(0), Units);
            state = _state;
        }
        int n = x.Dim(0);
        Tensor? dropoutMask = training ? Ops.DropoutMask(n, x.Dim(2), Dropout, _random) : null;
        Tensor? recurrentMask = training ? Ops.DropoutMask(n, Units, RecurrentDropout, _random) : null;
        Tensor y = Ops.Lstm(x, Kernel, RecurrentKernel, Bias, ReturnSequences, x.Mask, state, GoBackwards, dropoutMask, recurrentMask);
        if (ReturnSequences)
            y.Mask = x.Mask; // the steps stay the same steps
        return y;
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().Set("units", Units)
        .Set("return_sequences", ReturnSequences).Set("stateful", Stateful).Set("dropout", Dropout)
        .Set("recurrent_dropout", RecurrentDropout).Set("go_backwards", GoBackwards).Set("seed", Seed);

    /// <inheritdoc />
    public override string Describe() => $"units={Units}" + RecurrentArguments.Describe(ReturnSequences, Stateful, GoBackwards, Dropout, RecurrentDropout);

}
