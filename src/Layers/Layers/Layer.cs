namespace NanoNet.Layers;

/// <summary>
/// A Keras-shaped building block: owns named weights, knows its per-example input and output shapes,
/// and computes its forward pass with differentiable <see cref="Ops"/> (so backward comes from the tape).
/// </summary>
/// <remarks>
/// <para>Shapes here are per example: a layer built for input (28, 28) accepts batches of shape (N, 28, 28).</para>
/// <para>
/// <b>Life of a layer.</b> It is <i>built</i> on its first call (<see cref="Call"/> on a symbolic tensor,
/// or when a <see cref="Sequential"/> model is compiled): <see cref="OnBuild"/> sees the input shape,
/// registers the weights with <see cref="AddWeight"/> and returns the output shape. Its weights are
/// <i>initialised</i> once, when the first model containing it is compiled (each layer draws from its
/// own stream of the model's seed), so a layer taken from a trained model keeps its weights in a new
/// one, and recompiling never re-initialises.
/// </para>
/// <para>
/// <b>Writing a layer</b>: subclass, register weights in <see cref="OnBuild"/>, compute in
/// <see cref="OnForward"/> (use <c>training</c> for layers that behave differently when training), give
/// it a <see cref="DefaultName"/> and, to make it saveable, a <see cref="GetConfig"/> and a registration
/// in <see cref="LayerRegistry"/>.
/// </para>
/// </remarks>
public abstract class Layer
{
    private static readonly Dictionary<string, int> s_defaultNamesUsed = [];

    private readonly List<LayerWeight> _weights = [];
    private int[]? _inputShape, _outputShape;
    private string _name;
    private bool _trainable = true;

    /// <summary>Creates a layer; a null name is replaced by a unique default (e.g. "dense_2") when it is first used.</summary>
    protected Layer(string? name) => _name = name ?? "";

    /// <summary>The layer's name, used in summaries, error messages and weight names (e.g. "dense_1/kernel").</summary>
    /// <exception cref="InvalidOperationException">Set after the layer was built (its weights are named after it).</exception>
    public string Name
    {
        get => _name;
        set
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(value);
            if (IsBuilt)
                throw new InvalidOperationException($"Layer '{_name}' is built; its weights are named after it, so name it before its first use.");
            _name = value;
        }
    }

    /// <summary>The base of default names, e.g. "dense".</summary>
    protected internal abstract string DefaultName { get; }

    /// <summary>Per-example input shape (set when built).</summary>
    public ReadOnlySpan<int> InputShape => _inputShape ?? throw NotBuilt();

    /// <summary>Per-example output shape (set when built).</summary>
    public ReadOnlySpan<int> OutputShape => _outputShape ?? throw NotBuilt();

    /// <summary>Whether the layer has been built (its shapes and weights exist).</summary>
    public bool IsBuilt => _outputShape is not null;

    /// <summary>Whether the weights have been given their initial values.</summary>
    public bool IsInitialized { get; private set; }

    /// <summary>
    /// Whether training updates this layer's weights (Keras <c>trainable</c>). A frozen layer's weights
    /// get no gradient and are not handed to the optimizer, so a loaded model can be fine-tuned on top.
    /// </summary>
    public bool Trainable
    {
        get => _trainable;
        set
        {
            _trainable = value;
            foreach (LayerWeight weight in _weights)
                weight.Value.RequiresGrad = value && weight.Trainable;
            TrainableChanged?.Invoke();
        }
    }

    /// <summary>Raised when <see cref="Trainable"/> changes, so models can refresh their parameter lists.</summary>
    internal event Action? TrainableChanged;

    /// <summary>Every weight, trainable or not, in registration order.</summary>
    public IReadOnlyList<Tensor> Weights => [.. _weights.Select(w => w.Value)];

    /// <summary>The weights training updates: the trainable ones while the layer is <see cref="Trainable"/>, else none.</summary>
    public IReadOnlyList<Tensor> Parameters => _trainable ? [.. _weights.Where(w => w.Trainable).Select(w => w.Value)] : [];

    /// <summary>Number of values training updates.</summary>
    public int ParameterCount => Parameters.Sum(p => p.Length);

    /// <summary>Number of values training leaves alone (frozen layers, non-trainable weights).</summary>
    public int NonTrainableParameterCount => _weights.Sum(w => w.Value.Length) - ParameterCount;

    /// <summary>Whether the layer passes its input's <see cref="Tensor.Mask"/> on to its output (Keras <c>supports_masking</c>).</summary>
    public virtual bool SupportsMasking => false;

    /// <summary>The initializer of weights that start at zero (biases).</summary>
    protected static readonly WeightInitializer Zeros = static (values, _) => values.Clear();

    /// <summary>
    /// Registers a weight named <c>{layer}/{name}</c>, zero until the layer is initialised with
    /// <paramref name="initializer"/>. Call it from <see cref="OnBuild"/>.
    /// </summary>
    /// <remarks>
    /// A weight with a Keras role, told by its name ("kernel", "depthwise_kernel", "pointwise_kernel",
    /// "recurrent_kernel", "bias", "embeddings") or by <paramref name="role"/>, takes the layer's
    /// <see cref="KernelInitializer"/>, <see cref="RecurrentInitializer"/>, <see cref="BiasInitializer"/> or
    /// <see cref="EmbeddingsInitializer"/> instead of <paramref name="initializer"/> when the user set one,
    /// and the matching regularizer: every layer gets Keras's per-layer initializers and regularizers by
    /// registering its weights here.
    /// </remarks>
    protected Tensor AddWeight(string name, int[] shape, WeightInitializer initializer, bool trainable = true, WeightRole? role = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(initializer);
        if (_weights.Any(w => w.ShortName == name))
            throw new InvalidOperationException($"Layer '{Name}' already has a weight named '{name}'.");
        SpendWeightBudget(name, shape);
        Tensor value = Tensor.Zeros(shape).AsParameter($"{Name}/{name}");
        value.RequiresGrad = trainable && _trainable;
        WeightRole kind = role ?? RoleOf(name);
        if (_initializers[(int)kind] is { } chosen)
        {
            int[] weightShape = (int[])shape.Clone();
            initializer = (values, rng) => chosen.Fill(values, weightShape, rng);
        }
        _weights.Add(new LayerWeight(name, value, initializer, trainable, _regularizers[(int)kind]));
        return value;
    }

    /// <summary>
    /// Makes the weights of <paramref name="inner"/>, a built layer this one wraps and runs itself (the two
    /// directions of <see cref="Bidirectional"/>), this layer's own: listed, initialised, frozen and saved with it,
    /// under the names <paramref name="inner"/> gave them. Call it from <see cref="OnBuild"/>.
    /// </summary>
    private protected void AdoptWeights(Layer inner)
    {
        foreach (LayerWeight weight in inner._weights)
        {
            string name = $"{inner.Name}/{weight.ShortName}";
            if (_weights.Any(w => w.ShortName == name))
                throw new InvalidOperationException($"Layer '{Name}' already has a weight named '{name}'.");
            weight.Value.RequiresGrad = weight.Trainable && _trainable;
            _weights.Add(weight with { ShortName = name });
        }
    }

    private readonly Initializer?[] _initializers = new Initializer?[WeightRoles.Count];
    private readonly Regularizer?[] _regularizers = new Regularizer?[WeightRoles.Count];

    /// <summary>The Keras role of a weight by its name (<see cref="WeightRole.Other"/> for any other name).</summary>
    private static WeightRole RoleOf(string name) => name switch
    {
        "kernel" or "depthwise_kernel" or "pointwise_kernel" => WeightRole.Kernel,
        "recurrent_kernel" => WeightRole.RecurrentKernel,
        "bias" => WeightRole.Bias,
        "embeddings" => WeightRole.Embeddings,
        _ => WeightRole.Other,
    };

    /// <summary>Initializer of the kernel (Keras's <c>kernel_initializer</c>); null = the layer's default. Set it before the layer is built.</summary>
    public Initializer? KernelInitializer { get => _initializers[(int)WeightRole.Kernel]; set => SetSetting(_initializers, WeightRole.Kernel, value); }

    /// <summary>Initializer of the recurrent kernel (Keras's <c>recurrent_initializer</c>); null = the layer's default.</summary>
    public Initializer? RecurrentInitializer { get => _initializers[(int)WeightRole.RecurrentKernel]; set => SetSetting(_initializers, WeightRole.RecurrentKernel, value); }

    /// <summary>Initializer of the bias (Keras's <c>bias_initializer</c>); null = the layer's default.</summary>
    public Initializer? BiasInitializer { get => _initializers[(int)WeightRole.Bias]; set => SetSetting(_initializers, WeightRole.Bias, value); }

    /// <summary>Initializer of an embedding table (Keras's <c>embeddings_initializer</c>); null = the layer's default.</summary>
    public Initializer? EmbeddingsInitializer { get => _initializers[(int)WeightRole.Embeddings]; set => SetSetting(_initializers, WeightRole.Embeddings, value); }

    /// <summary>Penalty on the kernel added to the loss (Keras's <c>kernel_regularizer</c>). Set it before the layer is built.</summary>
    public Regularizer? KernelRegularizer { get => _regularizers[(int)WeightRole.Kernel]; set => SetSetting(_regularizers, WeightRole.Kernel, value); }

    /// <summary>Penalty on the recurrent kernel (Keras's <c>recurrent_regularizer</c>).</summary>
    public Regularizer? RecurrentRegularizer { get => _regularizers[(int)WeightRole.RecurrentKernel]; set => SetSetting(_regularizers, WeightRole.RecurrentKernel, value); }

    /// <summary>Penalty on the bias (Keras's <c>bias_regularizer</c>).</summary>
    public Regularizer? BiasRegularizer { get => _regularizers[(int)WeightRole.Bias]; set => SetSetting(_regularizers, WeightRole.Bias, value); }

    /// <summary>Penalty on an embedding table (Keras's <c>embeddings_regularizer</c>).</summary>
    public Regularizer? EmbeddingsRegularizer { get => _regularizers[(int)WeightRole.Embeddings]; set => SetSetting(_regularizers, WeightRole.Embeddings, value); }

    private void SetSetting<T>(T?[] settings, WeightRole role, T? value) where T : class
    {
        if (IsBuilt)
            throw new InvalidOperationException($"Layer '{Name}' is built; set its initializers and regularizers before its first use.");
        settings[(int)role] = value;
    }

    /// <summary>
    /// Adds the penalty of every regularized weight to <paramref name="total"/> (Keras adds the layers'
    /// losses to the objective): recorded for backward when training. Returns <paramref name="total"/>
    /// itself when the layer has none.
    /// </summary>
    internal Tensor AddPenalties(Tensor total)
    {
        for (int i = 0; i < _weights.Count; i++)
            if (_weights[i].Regularizer is { } regularizer)
                total = Ops.Add(total, regularizer.Penalty(_weights[i].Value));
        return total;
    }

    /// <summary>The config keys of the initializers and regularizers, Keras's ("kernel_initializer", ...), by role.</summary>
    private static readonly (WeightRole Role, string Prefix)[] s_settingKeys =
        [(WeightRole.Kernel, "kernel"), (WeightRole.RecurrentKernel, "recurrent"), (WeightRole.Bias, "bias"), (WeightRole.Embeddings, "embeddings")];

    /// <summary>Sets the initializers and regularizers a config names (what <see cref="GetConfig"/> wrote); called by <see cref="LayerRegistry.Create"/>.</summary>
    internal void ReadWeightSettings(LayerConfig config)
    {
        foreach ((WeightRole role, string prefix) in s_settingKeys)
        {
            if (config.Contains($"{prefix}_initializer"))
                SetSetting(_initializers, role, Initializer.Parse(config.GetString($"{prefix}_initializer")));
            if (config.Contains($"{prefix}_regularizer"))
                SetSetting(_regularizers, role, Regularizer.Parse(config.GetString($"{prefix}_regularizer")));
        }
    }

    /// <summary>Builds the layer for a per-example input shape: registers its weights (zero) and fixes its output shape.</summary>
    public void Build(ReadOnlySpan<int> inputShape)
    {
        if (IsBuilt)
        {
            RequireInputShape(inputShape);
            return;
        }
        EnsureName();
        int[] input = inputShape.ToArray();
        _outputShape = OnBuild(input);
        _inputShape = input;
    }

    /// <summary>Builds the layer and initialises its weights from <paramref name="rng"/> (a layer used on its own).</summary>
    public void Build(ReadOnlySpan<int> inputShape, RandomStream rng)
    {
        Build(inputShape);
        InitializeWeights(rng);
    }

    /// <summary>Gives every weight its initial values, drawn from <paramref name="rng"/> in registration order.</summary>
    public void InitializeWeights(RandomStream rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (!IsBuilt)
            throw NotBuilt();
        foreach (LayerWeight weight in _weights)
            weight.Initializer(weight.Value.Span, rng);
        IsInitialized = true;
    }

    /// <summary>
    /// Marks the weights as holding their values although they were not drawn: a loader that has just
    /// copied them from a file calls it, so the model predicts at once and compiling keeps them.
    /// </summary>
    internal void MarkInitialized()
    {
        if (!IsBuilt)
            throw NotBuilt();
        IsInitialized = true;
    }

    // How many weight values AddWeight may still allocate on this thread (null: no limit). A loader
    // rebuilding an architecture read from a file sets it to what the file holds, so a lying layer
    // argument (units = 2,000,000,000) fails with a message instead of allocating gigabytes.
    [ThreadStatic] private static long? t_weightBudget;

    /// <summary>Runs <paramref name="build"/> with weight allocation on this thread limited to <paramref name="values"/> values in total.</summary>
    internal static void WithWeightBudget(long values, Action build)
    {
        long? previous = t_weightBudget;
        t_weightBudget = values;
        try
        {
            build();
        }
        finally
        {
            t_weightBudget = previous;
        }
    }

    private void SpendWeightBudget(string name, int[] shape)
    {
        if (t_weightBudget is not long budget)
            return;
        long values = 1;
        foreach (int d in shape ?? [])
            values = d < 0 ? values : d != 0 && values > long.MaxValue / d ? long.MaxValue : values * d;
        if (values > budget)
            throw new InvalidOperationException(
                $"Layer '{Name}': weight '{name}' of shape {Shapes.Format(shape)} needs {values} values, more than the {budget} the file being loaded has left.");
        t_weightBudget = budget - values;
    }

    /// <summary>Registers the weights (<see cref="AddWeight"/>) for a per-example input shape and returns the per-example output shape.</summary>
    protected abstract int[] OnBuild(int[] inputShape);

    /// <summary>Runs the layer on a batch, checking its shape first; passes the input's mask on if the layer supports masking.</summary>
    /// <exception cref="ArgumentException">The batch's shape is not (N, <see cref="InputShape"/>); the message names the layer.</exception>
    public Tensor Forward(Tensor x, bool training = false)
    {
        CheckBatch(x);
        Tensor y = OnForward(x, training);
        if (SupportsMasking && y.Mask is null && !ReferenceEquals(x, y))
            y.Mask = x.Mask;
        return y;
    }

    /// <summary>Throws unless <paramref name="x"/> is a batch of this layer's <see cref="InputShape"/>.</summary>
    private protected void CheckBatch(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        ReadOnlySpan<int> expected = InputShape;
        if (x.Rank != expected.Length + 1 || !x.Shape[1..].SequenceEqual(expected))
            throw new ArgumentException(
                $"Layer '{Name}' expects input of shape {Shapes.FormatBatched(expected)} but got {Shapes.Format(x.Shape)}.");
    }

    /// <summary>The forward computation on a batch whose shape has been checked.</summary>
    protected abstract Tensor OnForward(Tensor x, bool training);

    /// <summary>
    /// Functional API: applies the layer to a symbolic tensor, building it on the first call. Calling a
    /// layer again shares its weights; the input shape must then equal the first call's.
    /// </summary>
    /// <exception cref="ArgumentException">The input's shape does not fit the layer; the message names it and both shapes.</exception>
    public virtual SymbolicTensor Call(SymbolicTensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        Build(input.Shape);
        return new SymbolicTensor(OutputShape.ToArray(), this, [input]);
    }

    /// <summary>
    /// The layer's constructor arguments, for saving an architecture and building it again through
    /// <see cref="LayerRegistry"/>. The base records the name; a layer adds its own arguments.
    /// </summary>
    public virtual LayerConfig GetConfig()
    {
        var config = new LayerConfig(GetType().Name).Set("name", Name);
        foreach ((WeightRole role, string prefix) in s_settingKeys)
        {
            if (_initializers[(int)role] is { } initializer)
                config.Set($"{prefix}_initializer", initializer.ToString());
            if (_regularizers[(int)role] is { } regularizer)
                config.Set($"{prefix}_regularizer", regularizer.ToString());
        }
        return config;
    }

    /// <summary>A short description of the configuration for summaries, e.g. "units=128, relu".</summary>
    public virtual string Describe() => "";

    /// <summary>Gives an unnamed layer a unique default name (Keras style: "dense", "dense_1", ...).</summary>
    internal void EnsureName()
    {
        if (_name.Length > 0)
            return;
        lock (s_defaultNamesUsed)
        {
            s_defaultNamesUsed.TryGetValue(DefaultName, out int used);
            s_defaultNamesUsed[DefaultName] = used + 1;
            _name = used == 0 ? DefaultName : $"{DefaultName}_{used}";
        }
    }

    /// <summary>Marks the layer as built for the given shapes (used by layers with several inputs).</summary>
    private protected void SetBuilt(int[] inputShape, int[] outputShape)
    {
        _inputShape = inputShape;
        _outputShape = outputShape;
    }

    private void RequireInputShape(ReadOnlySpan<int> inputShape)
    {
        if (!inputShape.SequenceEqual(InputShape))
            throw new ArgumentException(
                $"Layer '{Name}' was built for input {Shapes.FormatBatched(InputShape)} and cannot be called on {Shapes.FormatBatched(inputShape)} " +
                "(a layer called twice shares its weights, so its input shape must stay the same).");
    }

    private protected InvalidOperationException NotBuilt() =>
        new($"Layer '{Name}' has not been built yet: call it on a symbolic tensor or add it to a model and compile it first.");

    /// <summary>A registered weight: its short name, value, initializer, whether training may update it, and its penalty.</summary>
    private sealed record LayerWeight(string ShortName, Tensor Value, WeightInitializer Initializer, bool Trainable, Regularizer? Regularizer);
}

/// <summary>The Keras role of a weight, which picks the layer's initializer and regularizer for it.</summary>
public enum WeightRole
{
    /// <summary>No role: the layer's own initializer, no regularizer.</summary>
    Other,
    /// <summary>The input kernel (Keras's <c>kernel_*</c>).</summary>
    Kernel,
    /// <summary>A recurrent layer's recurrent kernel (<c>recurrent_*</c>).</summary>
    RecurrentKernel,
    /// <summary>The bias (<c>bias_*</c>).</summary>
    Bias,
    /// <summary>An embedding table (<c>embeddings_*</c>).</summary>
    Embeddings,
}

internal static class WeightRoles
{
    public const int Count = (int)WeightRole.Embeddings + 1;
}

/// <summary>Fills a new weight with its initial values (e.g. Glorot-uniform), drawing from the layer's stream.</summary>
public delegate void WeightInitializer(Span<float> values, RandomStream rng);

/// <summary>
/// A layer whose last step is an activation that can be skipped, so a loss can fuse with it
/// (softmax + cross-entropy are computed together from the logits; see <see cref="ActivationFusion"/>).
/// </summary>
public interface IActivatedLayer
{
    /// <summary>The activation applied last.</summary>
    ActivationFunction Activation { get; }

    /// <summary>The forward pass without the final activation (the pre-activation values).</summary>
    Tensor ForwardPreActivation(Tensor x, bool training);
}
