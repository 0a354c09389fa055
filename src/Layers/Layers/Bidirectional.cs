namespace NanoNet.Layers;

/// <summary>
/// Keras's <c>Bidirectional</c> wrapper: runs a recurrent layer over the sequence forwards and a copy of it
/// backwards (<c>go_backwards</c> flipped), and merges the two outputs.
/// </summary>
/// <remarks>
/// <para>The backward copy is built from the wrapped layer's config through <see cref="LayerRegistry"/>, with its own
/// weights (and, for a layer with dropout, its own seed: the wrapped layer's + 1). With <c>returnSequences</c> the
/// backward output is reversed back to input order before the merge, so step t of both halves describes input step t.</para>
/// <para>Merge modes as Keras: <c>concat</c> (default; 2·units features, forward first), <c>sum</c>, <c>mul</c>,
/// <c>ave</c>. Both directions see the input's mask; with <c>returnSequences</c> the output keeps it.</para>
/// <para>Weights are named as in Keras, e.g. <c>bidirectional/forward_lstm/kernel</c> and
/// <c>bidirectional/backward_lstm/recurrent_kernel</c>.</para>
/// </remarks>
public sealed class Bidirectional : Layer
{
    private static readonly string[] s_mergeModes = ["concat", "sum", "mul", "ave"];
    private readonly Tensor[] _halves = new Tensor[2];
    private int[] _reversedSteps = [];
    private Layer? _backward;
    private string? _innerName;

    /// <summary>Wraps <paramref name="layer"/> (an unbuilt recurrent layer, e.g. <c>new Lstm(64)</c>).</summary>
    /// <param name="layer">The forward layer, a <see cref="RecurrentLayer"/> not yet built or used elsewhere.</param>
    /// <param name="mergeMode">"concat", "sum", "mul" or "ave".</param>
    /// <param name="name">The layer's name (null: a default such as "bidirectional_1").</param>
    public Bidirectional(Layer layer, string mergeMode = "concat", string? name = null) : base(name)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (layer is not RecurrentLayer)
            throw new ArgumentException($"Bidirectional wraps a recurrent layer (Lstm, Gru, SimpleRnn), got '{layer.Name}' ({layer.GetType().Name}).", nameof(layer));
        if (layer.IsBuilt)
            throw new ArgumentException($"Bidirectional needs an unbuilt layer: '{layer.Name}' is already built (its weights would be shared).", nameof(layer));
        if (!s_mergeModes.Contains(mergeMode))
            throw new ArgumentException($"Bidirectional merge mode must be one of {string.Join(", ", s_mergeModes)}, got '{mergeMode}'.", nameof(mergeMode));
        ForwardLayer = layer;
        MergeMode = mergeMode;
    }

    /// <summary>The wrapped layer, run forwards (named <c>{this}/forward_{its name}</c> once built).</summary>
    public Layer ForwardLayer { get; }

    /// <summary>The copy run backwards (exists once built).</summary>
    public Layer BackwardLayer => _backward ?? throw NotBuilt();

    /// <summary>How the two outputs are combined: "concat", "sum", "mul" or "ave".</summary>
    public string MergeMode { get; }

    /// <summary>Whether every step is returned (the wrapped layer's setting).</summary>
    public bool ReturnSequences => ((RecurrentLayer)ForwardLayer).ReturnSequences;

    /// <inheritdoc />
    protected internal override string DefaultName => "bidirectional";

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape)
    {
        if (inputShape.Length != 2)
            throw new ArgumentException($"Layer '{Name}' (Bidirectional) needs per-example input (time steps, features), got {Shapes.Format(inputShape)}.");
        ForwardLayer.EnsureName();
        string inner = _innerName = ForwardLayer.Name;
        LayerConfig config = ForwardLayer.GetConfig();
        config.Set("go_backwards", !((RecurrentLayer)ForwardLayer).GoBackwards).Set("name", $"{Name}/backward_{inner}");
        if (config.Contains("seed"))
            config.Set("seed", config.GetInt("seed") + 1);
        ForwardLayer.Name = $"{Name}/forward_{inner}";
        _backward = LayerRegistry.Create(config);
        ForwardLayer.Build(inputShape);
        _backward.Build(inputShape);
        AdoptWeights(ForwardLayer);
        AdoptWeights(_backward);
        int steps = inputShape[0];
        _reversedSteps = [.. Enumerable.Range(0, steps).Reverse()];
        int[] half = ForwardLayer.OutputShape.ToArray();
        if (MergeMode == "concat")
            half[^1] *= 2;
        return half;
    }

    /// <summary>Whether a call also returns both directions' final states (the wrapped layer's <c>returnState</c>).</summary>
    public bool ReturnState => Wrapped.ReturnState;

    private RecurrentLayer Wrapped => (RecurrentLayer)ForwardLayer;

    /// <summary>The merged output, then with <see cref="ReturnState"/> the forward layer's states and the backward layer's (Keras' order: output, h_fw, c_fw, h_bw, c_bw).</summary>
    public override int OutputCount => ReturnState ? 1 + 2 * Wrapped.StateCount : 1;

    /// <inheritdoc />
    public override int[] OutputShapeAt(int index) => index == 0 || index >= OutputCount ? base.OutputShapeAt(index) : [Wrapped.Units];

    /// <summary>The state outputs: "forward_state_h", ..., "backward_state_c".</summary>
    protected internal override string OutputName(int index)
    {
        int states = Wrapped.StateCount;
        if (index < 1 || index >= OutputCount)
            return base.OutputName(index);
        string direction = index <= states ? "forward" : "backward";
        return $"{direction}_{Wrapped.OutputName(1 + (index - 1) % states)}";
    }

    /// <summary>
    /// Functional API with Keras' <c>initial_state</c>: the forward layer's states, then the backward layer's (h, c, h, c
    /// for an LSTM), each of per-example shape (units).
    /// </summary>
    /// <exception cref="ArgumentException">The wrong number of states, or a state of the wrong shape; the message names the layer.</exception>
    public SymbolicTensor Call(SymbolicTensor input, SymbolicTensor[] initialState)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(initialState);
        EnsureName();
        int states = Wrapped.StateCount;
        if (initialState.Length != 2 * states || initialState.Any(t => t is null || t.Shape.Length != 1 || t.Shape[0] != Wrapped.Units))
            throw new ArgumentException(
                $"Layer '{Name}' (Bidirectional) takes an initial state of {2 * states} tensors (the forward layer's, then the backward layer's), " +
                $"each of shape (None, {Wrapped.Units}); got [{string.Join(", ", initialState.Select(t => t is null ? "null" : Shapes.FormatBatched(t.Shape)))}].");
        Build(input.Shape);
        return SymbolicTensor.ForCall(this, [input, .. initialState]);
    }

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training) =>
        Merge(ForwardLayer.Forward(x, training), BackwardLayer.Forward(x, training), x);

    /// <summary>One call in a model's graph: the input, then any initial states; writes the merged output, then any states.</summary>
    internal override void ForwardCall(ReadOnlySpan<Tensor> inputs, Span<Tensor> outputs, bool training)
    {
        Tensor x = inputs[0];
        CheckInput(x);
        ReadOnlySpan<Tensor> states = inputs[1..];
        int count = Wrapped.StateCount;
        if (!states.IsEmpty && states.Length != 2 * count)
            throw new ArgumentException($"Layer '{Name}' (Bidirectional) takes an initial state of {2 * count} tensors, got {states.Length}.");
        RecurrentOutputs forward = Wrapped.ForwardWithStates(x, states.IsEmpty ? default : states[..count], training);
        RecurrentOutputs backward = ((RecurrentLayer)BackwardLayer).ForwardWithStates(x, states.IsEmpty ? default : states[count..], training);
        outputs[0] = Merge(forward.Output, backward.Output, x);
        if (outputs.Length == 1)
            return;
        outputs[1] = forward.Hidden!;
        outputs[1 + count] = backward.Hidden!;
        if (count == 2)
        {
            outputs[2] = forward.Cell!;
            outputs[4] = backward.Cell!;
        }
    }

    /// <summary>Merges the two directions' outputs (the backward one flipped back to input order when it is a sequence).</summary>
    private Tensor Merge(Tensor forward, Tensor backward, Tensor x)
    {
        if (ReturnSequences) // the backward layer returns its steps in processing order: back to input order
            backward = Ops.IndexSelect(backward, 1, _reversedSteps);
        Tensor y;
        switch (MergeMode)
        {
            case "concat":
                _halves[0] = forward;
                _halves[1] = backward;
                y = Ops.Concat(_halves, -1);
                Array.Clear(_halves);
                break;
            case "sum":
                y = Ops.Add(forward, backward);
                break;
            case "mul":
                y = Ops.Multiply(forward, backward);
                break;
            default:
                y = Ops.Multiply(Ops.Add(forward, backward), 0.5f);
                break;
        }
        if (ReturnSequences)
            y.Mask = x.Mask;
        return y;
    }

    /// <summary>The merge mode and the wrapped layer's config, its arguments under "layer." (e.g. "layer.units").</summary>
    public override LayerConfig GetConfig()
    {
        LayerConfig config = base.GetConfig().Set("merge_mode", MergeMode);
        LayerConfig inner = ForwardLayer.GetConfig();
        config.Set("layer", inner.TypeName);
        foreach (string key in inner.Keys)
            if (key != "name")
                SetRaw(config, LayerPrefix + key, inner[key]);
        string innerName = _innerName ?? ForwardLayer.Name; // the wrapped layer's own name: its weights are named after it
        if (innerName.Length > 0)
            config.Set(LayerPrefix + "name", innerName);
        return config;
    }

    /// <summary>The wrapped layer's arguments in a Bidirectional config are prefixed with this.</summary>
    internal const string LayerPrefix = "layer.";

    /// <summary>Rebuilds a Bidirectional from its config (registered in <see cref="LayerRegistry"/>).</summary>
    internal static Bidirectional FromConfig(LayerConfig config)
    {
        var inner = new LayerConfig(config.GetString("layer"));
        foreach (string key in config.Keys)
            if (key.StartsWith(LayerPrefix, StringComparison.Ordinal))
                SetRaw(inner, key[LayerPrefix.Length..], config[key]);
        return new Bidirectional(LayerRegistry.Create(inner), config.GetOrDefault("merge_mode", "concat"),
            config.Contains("name") ? config.GetString("name") : null);
    }

    private static void SetRaw(LayerConfig config, string key, object value)
    {
        switch (value)
        {
            case int i: config.Set(key, i); break;
            case float f: config.Set(key, f); break;
            case bool b: config.Set(key, b); break;
            case string s: config.Set(key, s); break;
            case int[] list: config.Set(key, list); break;
            default: throw new InvalidOperationException($"Bidirectional cannot store argument '{key}' of type {value.GetType().Name}.");
        }
    }

    /// <inheritdoc />
    public override string Describe() => $"{ForwardLayer.GetType().Name}({ForwardLayer.Describe()}), merge_mode={MergeMode}";
}
