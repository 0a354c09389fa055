using System.Globalization;

namespace NanoNet.Layers;

/// <summary>
/// What Keras' recurrent layers (<see cref="Lstm"/>, <see cref="Gru"/>, <see cref="SimpleRnn"/>) share: units,
/// <c>return_sequences</c>, <c>stateful</c>, <c>go_backwards</c>, and <c>dropout</c> / <c>recurrent_dropout</c>
/// with their mask generator. <see cref="Bidirectional"/> wraps any of them.
/// </summary>
/// <remarks>
/// <para><c>dropout</c> and <c>recurrentDropout</c> follow Keras: while training, each sequence of the batch draws
/// one input mask (D values) and one recurrent mask (units values), used at every step; the inputs, and h_{t−1}
/// before the recurrent product, are multiplied by them (inverted dropout: kept values are scaled by 1/(1 − rate)).
/// They come from the layer's own <see cref="RandomStream"/> (seed <see cref="Seed"/>, stream
/// <see cref="RandomStreamIds.RecurrentDropout"/>), input mask first, so a run is reproducible and bit-identical at
/// any thread count; <see cref="RandomState"/> is saved and restored like <see cref="Layers.Dropout.RandomState"/>.</para>
/// <para><c>goBackwards</c> reads the sequence last step first; with <c>returnSequences</c> the steps come out in
/// that (reversed) order, as in Keras. Masked steps (e.g. padding after <c>Embedding(maskZero: true)</c>) carry the
/// state, and with <c>returnSequences</c> output the previous output; the output keeps the input's mask.</para>
/// <para>With <c>stateful</c> the final state of each batch is the initial state of the next, row by row
/// (truncated back-propagation through time; no gradient crosses a batch boundary). Call <c>ResetStates</c>
/// where the stream restarts; a batch of a different size starts from zero.</para>
/// </remarks>
public abstract class RecurrentLayer : Layer
{
    private readonly RandomStream _random;

    /// <summary>Checks and keeps the shared arguments.</summary>
    private protected RecurrentLayer(string typeName, int units, bool returnSequences, bool stateful, string? name, float dropout,
        float recurrentDropout, bool goBackwards, int seed, bool returnState) : base(name)
    {
        ReturnState = returnState;
        Units = units > 0 ? units : throw new ArgumentOutOfRangeException(nameof(units), units, $"{typeName} needs at least one unit.");
        ReturnSequences = returnSequences;
        Stateful = stateful;
        Dropout = CheckRate(dropout, nameof(dropout));
        RecurrentDropout = CheckRate(recurrentDropout, nameof(recurrentDropout));
        GoBackwards = goBackwards;
        Seed = seed;
        _random = new RandomStream((uint)seed, RandomStreamIds.RecurrentDropout);
    }

    /// <summary>Hidden units (the output's last axis).</summary>
    public int Units { get; }

    /// <summary>Whether every step's output is returned, (N, T, units), rather than the last, (N, units).</summary>
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

    /// <summary>
    /// Whether a call also returns the final states (Keras' <c>return_state</c>): the output, then h (and for an
    /// <see cref="Lstm"/> c), each (N, units). With a mask the final state is the one at the last unmasked step; with
    /// <see cref="GoBackwards"/>, the one after input step 0. In a model: <c>var (output, h, c) = lstm.Call(x)</c>.
    /// </summary>
    public bool ReturnState { get; }

    /// <summary>The names of the layer's states, in the order they are returned and given as an initial state: h (and c).</summary>
    private protected virtual string[] StateNames => s_hiddenOnly;

    private static readonly string[] s_hiddenOnly = ["h"];

    /// <summary>How many state tensors the layer has: 1 (h), or 2 for an <see cref="Lstm"/> (h, c).</summary>
    public int StateCount => StateNames.Length;

    /// <summary>The output, then with <see cref="ReturnState"/> one per state.</summary>
    public override int OutputCount => ReturnState ? 1 + StateCount : 1;

    /// <inheritdoc />
    public override int[] OutputShapeAt(int index) => index == 0 ? base.OutputShapeAt(0)
        : index < OutputCount ? [Units] : base.OutputShapeAt(index);

    /// <summary>The state outputs are named after their state: "state_h", "state_c".</summary>
    protected internal override string OutputName(int index) =>
        index >= 1 && index <= StateCount ? "state_" + StateNames[index - 1] : base.OutputName(index);

    /// <summary>
    /// Functional API with Keras' <c>initial_state</c>: runs the layer from the given states instead of zeros — h (and
    /// for an <see cref="Lstm"/> c), each of per-example shape (units), e.g. an encoder's final states
    /// (<c>decoder.Call(x, [h, c])</c>). Gradients flow into them. Returns the output (and, with <see cref="ReturnState"/>,
    /// the states after it: deconstruct the result).
    /// </summary>
    /// <exception cref="ArgumentException">The wrong number of states, or a state of the wrong shape; the message names the layer.</exception>
    public SymbolicTensor Call(SymbolicTensor input, SymbolicTensor[] initialState)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(initialState);
        EnsureName();
        CheckInitialStateShapes(initialState.Length, i => (initialState[i] ?? throw new ArgumentNullException(nameof(initialState))).Shape.ToArray());
        Build(input.Shape);
        return SymbolicTensor.ForCall(this, [input, .. initialState]);
    }

    /// <summary>Whether <paramref name="states"/> are <see cref="StateCount"/> tensors of (<paramref name="batch"/>, units) (checked every step: allocates nothing).</summary>
    private bool FitsAsInitialState(ReadOnlySpan<Tensor> states, int batch)
    {
        if (states.Length != StateCount)
            return false;
        foreach (Tensor state in states)
            if (state is null || state.Rank != 2 || state.Dim(0) != batch || state.Dim(1) != Units)
                return false;
        return true;
    }

    /// <summary>Checks an initial state's count and per-example shapes: <see cref="StateCount"/> tensors of (units).</summary>
    private protected void CheckInitialStateShapes(int count, Func<int, int[]> shapeOf)
    {
        string expected = $"{StateCount} tensor{(StateCount == 1 ? "" : "s")} ({string.Join(", ", StateNames)}) of shape (None, {Units})";
        if (count != StateCount)
            throw new ArgumentException($"Layer '{Name}' ({GetType().Name}) takes an initial state of {expected}, got {count} tensor{(count == 1 ? "" : "s")}.");
        for (int i = 0; i < count; i++)
            if (shapeOf(i) is var shape && (shape.Length != 1 || shape[0] != Units))
                throw new ArgumentException(
                    $"Layer '{Name}' ({GetType().Name}) takes an initial state of {expected}; state {StateNames[i]} has shape {Shapes.FormatBatched(shape)}.");
    }

    /// <summary>
    /// The recurrence on a checked batch: from <paramref name="initialState"/> (empty: zero, or the carried state of a
    /// stateful layer), returning the final states too when <paramref name="wantStates"/> (or an initial state is given).
    /// </summary>
    private protected abstract RecurrentOutputs Run(Tensor x, ReadOnlySpan<Tensor> initialState, bool training, bool wantStates);

    /// <inheritdoc />
    protected sealed override Tensor OnForward(Tensor x, bool training) => WithMask(Run(x, default, training, wantStates: false).Output, x);

    /// <summary>One call in a model's graph: the input, then any initial states; writes the output, then any states.</summary>
    internal override void ForwardCall(ReadOnlySpan<Tensor> inputs, Span<Tensor> outputs, bool training)
    {
        RecurrentOutputs result = ForwardWithStates(inputs[0], inputs[1..], training);
        outputs[0] = result.Output;
        if (outputs.Length > 1)
            outputs[1] = result.Hidden!;
        if (outputs.Length > 2)
            outputs[2] = result.Cell!;
    }

    /// <summary>
    /// Runs the layer on a batch from <paramref name="initialState"/> (empty: zero, or the carried state), returning the
    /// output and the final states, with the input's shape and the states' count and shapes checked.
    /// </summary>
    /// <exception cref="ArgumentException">A shape or the number of states is wrong; the message names the layer.</exception>
    public RecurrentOutputs ForwardWithStates(Tensor x, ReadOnlySpan<Tensor> initialState, bool training = false)
    {
        CheckInput(x);
        if (!initialState.IsEmpty && !FitsAsInitialState(initialState, x.Dim(0)))
        {
            Tensor[] states = initialState.ToArray(); // only for the message: a lambda cannot hold a span
            CheckInitialStateShapes(states.Length, i => states[i].Rank == 2 && states[i].Dim(0) == x.Dim(0) ? states[i].Shape[1..].ToArray() : states[i].Shape.ToArray());
        }
        RecurrentOutputs result = Run(x, initialState, training, wantStates: true);
        WithMask(result.Output, x);
        return result;
    }

    /// <summary>The dropout masks' generator state, for a checkpoint to save and restore.</summary>
    public RandomStreamState RandomState
    {
        get => _random.State;
        set => _random.Restore(value);
    }

    /// <summary>Checks the per-example input is (time steps, features) and returns the features.</summary>
    private protected int Features(int[] inputShape, string typeName) => inputShape.Length == 2 ? inputShape[1]
        : throw new ArgumentException($"Layer '{Name}' ({typeName}) needs per-example input (time steps, features), got {Shapes.Format(inputShape)}.");

    /// <summary>The output shape for a (time steps, features) input.</summary>
    private protected int[] OutputShapeFor(int[] inputShape) => ReturnSequences ? [inputShape[0], Units] : [Units];

    /// <summary>While training, draws this batch's input mask (N, D) then recurrent mask (N, units); null where the rate is 0 or not training.</summary>
    private protected (Tensor? Input, Tensor? Recurrent) DropoutMasks(Tensor x, bool training) => training
        ? (Ops.DropoutMask(x.Dim(0), x.Dim(2), Dropout, _random), Ops.DropoutMask(x.Dim(0), Units, RecurrentDropout, _random))
        : (null, null);

    /// <summary>The output keeps the input's mask when it has every step (the steps stay the same steps).</summary>
    private protected Tensor WithMask(Tensor y, Tensor x)
    {
        if (ReturnSequences)
            y.Mask = x.Mask;
        return y;
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig()
    {
        LayerConfig config = base.GetConfig().Set("units", Units)
            .Set("return_sequences", ReturnSequences).Set("stateful", Stateful).Set("dropout", Dropout)
            .Set("recurrent_dropout", RecurrentDropout).Set("go_backwards", GoBackwards).Set("seed", Seed);
        return ReturnState ? config.Set("return_state", true) : config; // written only when set: older readers load the rest
    }

    /// <inheritdoc />
    public override string Describe() => $"units={Units}"
        + (ReturnSequences ? ", return_sequences" : "") + (ReturnState ? ", return_state" : "") + (Stateful ? ", stateful" : "") + (GoBackwards ? ", go_backwards" : "")
        + (Dropout > 0f ? ", dropout=" + Dropout.ToString(CultureInfo.InvariantCulture) : "")
        + (RecurrentDropout > 0f ? ", recurrent_dropout=" + RecurrentDropout.ToString(CultureInfo.InvariantCulture) : "");

    private static float CheckRate(float rate, string parameter) => rate >= 0f && rate < 1f ? rate
        : throw new ArgumentOutOfRangeException(parameter, rate, "A dropout rate must be in [0, 1).");
}
