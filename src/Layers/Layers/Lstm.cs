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
/// </remarks>
/// <param name="units">Hidden units.</param>
/// <param name="returnSequences">Return h for every step rather than the last one.</param>
/// <param name="stateful">Carry the state from one batch to the next.</param>
/// <param name="name">Layer name, or null for a default.</param>
public sealed class Lstm(int units, bool returnSequences = false, bool stateful = false, string? name = null) : Layer(name)
{
    private Tensor? _kernel, _recurrentKernel, _bias;
    private LstmState? _state;

    /// <summary>Hidden units.</summary>
    public int Units { get; } = units > 0 ? units : throw new ArgumentOutOfRangeException(nameof(units), units, "Lstm needs at least one unit.");

    /// <summary>Whether every step's hidden state is returned.</summary>
    public bool ReturnSequences { get; } = returnSequences;

    /// <summary>Whether the state carries over from one batch to the next.</summary>
    public bool Stateful { get; } = stateful;

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
        Tensor y = Ops.Lstm(x, Kernel, RecurrentKernel, Bias, ReturnSequences, x.Mask, state);
        if (ReturnSequences)
            y.Mask = x.Mask; // the steps stay the same steps
        return y;
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().Set("units", Units)
        .Set("return_sequences", ReturnSequences).Set("stateful", Stateful);

    /// <inheritdoc />
    public override string Describe() =>
        $"units={Units}" + (ReturnSequences ? ", return_sequences" : "") + (Stateful ? ", stateful" : "");

}
