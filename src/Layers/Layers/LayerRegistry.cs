namespace NanoNet.Layers;

/// <summary>
/// Layer types by name: how an architecture saved as <see cref="LayerConfig"/>s is built again. The
/// built-in layers are registered; register a custom layer once (e.g. at start-up) with a factory that
/// reads its config back. No reflection: each factory is plain code, so it survives trimming and NativeAOT.
/// </summary>
/// <example>
/// <code>
/// LayerRegistry.Register("Scale", config => new Scale(config.GetString("name")));
/// Layer copy = LayerRegistry.Create(new Scale().GetConfig());
/// </code>
/// </example>
public static class LayerRegistry
{
    private static readonly Dictionary<string, Func<LayerConfig, Layer>> s_factories = new(StringComparer.Ordinal)
    {
        ["Dense"] = c => new Dense(c.GetInt("units"), ActivationNames.Parse(c.GetOrDefault("activation", "linear")), NameOf(c)),
        ["Conv2D"] = c => new Conv2D(c.GetInt("filters"), ConvLayerArguments.Pair(c, "kernel_size", (0, 0)), ConvLayerArguments.Pair(c, "strides", (1, 1)),
            c.GetOrDefault("padding", "valid"), ActivationNames.Parse(c.GetOrDefault("activation", "linear")),
            ConvLayerArguments.Pair(c, "dilation_rate", (1, 1)), NameOf(c)),
        ["MaxPool2D"] = c => new MaxPool2D(ConvLayerArguments.Pair(c, "pool_size", (2, 2)), c.Contains("strides") ? ConvLayerArguments.Pair(c, "strides", (1, 1)) : null,
            c.GetOrDefault("padding", "valid"), NameOf(c)),
        ["Conv1D"] = c => new Conv1D(c.GetInt("filters"), c.GetInt("kernel_size"), c.GetOrDefault("strides", 1), c.GetOrDefault("padding", "valid"),
            ActivationNames.Parse(c.GetOrDefault("activation", "linear")), c.GetOrDefault("dilation_rate", 1), NameOf(c)),
        ["MaxPooling1D"] = c => new MaxPooling1D(c.GetOrDefault("pool_size", 2), c.Contains("strides") ? c.GetInt("strides") : null,
            c.GetOrDefault("padding", "valid"), NameOf(c)),
        ["DepthwiseConv2D"] = c => new DepthwiseConv2D(ConvLayerArguments.Pair(c, "kernel_size", (0, 0)), ConvLayerArguments.Pair(c, "strides", (1, 1)),
            c.GetOrDefault("padding", "valid"), c.GetOrDefault("depth_multiplier", 1), ActivationNames.Parse(c.GetOrDefault("activation", "linear")),
            ConvLayerArguments.Pair(c, "dilation_rate", (1, 1)), NameOf(c)),
        ["AveragePooling1D"] = c => new AveragePooling1D(c.GetOrDefault("pool_size", 2), c.Contains("strides") ? c.GetInt("strides") : null,
            c.GetOrDefault("padding", "valid"), NameOf(c)),
        ["AveragePooling2D"] = c => new AveragePooling2D(ConvLayerArguments.Pair(c, "pool_size", (2, 2)),
            c.Contains("strides") ? ConvLayerArguments.Pair(c, "strides", (1, 1)) : null, c.GetOrDefault("padding", "valid"), NameOf(c)),
        ["ZeroPadding2D"] = c => ZeroPadding2DFrom(c),
        ["UpSampling2D"] = c => new UpSampling2D(ConvLayerArguments.Pair(c, "size", (2, 2)), c.GetOrDefault("interpolation", "nearest"), NameOf(c)),
        ["UpSampling1D"] = c => new UpSampling1D(c.GetOrDefault("size", 2), NameOf(c)),
        ["Flatten"] = c => new Flatten(NameOf(c)),
        ["GlobalAveragePooling2D"] = c => new GlobalAveragePooling2D(NameOf(c)),
        ["GlobalMaxPooling2D"] = c => new GlobalMaxPooling2D(NameOf(c)),
        ["GlobalAveragePooling1D"] = c => new GlobalAveragePooling1D(NameOf(c)),
        ["GlobalMaxPooling1D"] = c => new GlobalMaxPooling1D(NameOf(c)),
        ["Reshape"] = c => new Reshape(c.GetInts("target_shape"), NameOf(c)),
        ["Permute"] = c => new Permute(c.GetInts("dims"), NameOf(c)),
        ["RepeatVector"] = c => new RepeatVector(c.GetInt("n"), NameOf(c)),
        ["Dropout"] = c => new Dropout(c.GetFloat("rate"), c.GetOrDefault("seed", 0), NameOf(c)),
        ["SpatialDropout1D"] = c => new SpatialDropout1D(c.GetFloat("rate"), c.GetOrDefault("seed", 0), NameOf(c)),
        ["SpatialDropout2D"] = c => new SpatialDropout2D(c.GetFloat("rate"), c.GetOrDefault("seed", 0), NameOf(c)),
        ["Activation"] = c => new Activation(ActivationNames.Parse(c.GetString("activation")), NameOf(c)),
        ["LeakyRelu"] = c => new LeakyRelu(c.Contains("negative_slope") ? c.GetFloat("negative_slope") : 0.3f, NameOf(c)),
        ["Elu"] = c => new Elu(c.Contains("alpha") ? c.GetFloat("alpha") : 1f, NameOf(c)),
        ["Softmax"] = c => new Softmax(c.GetOrDefault("axis", -1), NameOf(c)),
        ["Embedding"] = c => new Embedding(c.GetInt("input_dim"), c.GetInt("output_dim"), c.GetOrDefault("mask_zero", false), NameOf(c)),
        ["Lstm"] = c => new Lstm(c.GetInt("units"), c.GetOrDefault("return_sequences", false), c.GetOrDefault("stateful", false), NameOf(c),
            c.GetOrDefault("dropout", 0f), c.GetOrDefault("recurrent_dropout", 0f), c.GetOrDefault("go_backwards", false), c.GetOrDefault("seed", 0),
            c.GetOrDefault("return_state", false)),
        ["Gru"] = c => new Gru(c.GetInt("units"), c.GetOrDefault("return_sequences", false), c.GetOrDefault("stateful", false), NameOf(c),
            c.GetOrDefault("dropout", 0f), c.GetOrDefault("recurrent_dropout", 0f), c.GetOrDefault("go_backwards", false), c.GetOrDefault("seed", 0),
            c.GetOrDefault("return_state", false)),
        ["SimpleRnn"] = c => new SimpleRnn(c.GetInt("units"), ActivationNames.Parse(c.GetOrDefault("activation", "tanh")),
            c.GetOrDefault("return_sequences", false), c.GetOrDefault("stateful", false), NameOf(c), c.GetOrDefault("dropout", 0f),
            c.GetOrDefault("recurrent_dropout", 0f), c.GetOrDefault("go_backwards", false), c.GetOrDefault("seed", 0),
            c.GetOrDefault("return_state", false)),
        ["Bidirectional"] = Bidirectional.FromConfig,
        ["BatchNormalization"] = c => new BatchNormalization(c.GetOrDefault("axis", -1), c.Contains("momentum") ? c.GetFloat("momentum") : 0.99f,
            c.Contains("epsilon") ? c.GetFloat("epsilon") : 1e-3f, c.GetOrDefault("center", true), c.GetOrDefault("scale", true), NameOf(c)),
        ["LayerNormalization"] = c => new LayerNormalization(c.GetOrDefault("axis", -1), c.Contains("epsilon") ? c.GetFloat("epsilon") : 1e-3f,
            c.GetOrDefault("center", true), c.GetOrDefault("scale", true), NameOf(c)),
        ["MultiHeadAttention"] = c => new MultiHeadAttention(c.GetInt("num_heads"), c.GetInt("key_dim"), c.Contains("value_dim") ? c.GetInt("value_dim") : null,
            c.Contains("dropout") ? c.GetFloat("dropout") : 0f, c.GetOrDefault("use_bias", true), c.Contains("output_shape") ? c.GetInt("output_shape") : null,
            c.GetOrDefault("seed", 0), NameOf(c)).WithCausalMask(c.GetOrDefault("use_causal_mask", false)),
        ["Add"] = c => new Add(NameOf(c)),
        ["Subtract"] = c => new Subtract(NameOf(c)),
        ["Multiply"] = c => new Multiply(NameOf(c)),
        ["Concatenate"] = c => new Concatenate(c.GetOrDefault("axis", -1), NameOf(c)),
    };

    /// <summary>The registered type names.</summary>
    public static IReadOnlyCollection<string> TypeNames
    {
        get
        {
            lock (s_factories)
                return [.. s_factories.Keys];
        }
    }

    /// <summary>Registers <paramref name="factory"/> for configs whose <see cref="LayerConfig.TypeName"/> is <paramref name="typeName"/>.</summary>
    /// <exception cref="ArgumentException">The name is taken (by a built-in layer or an earlier registration).</exception>
    public static void Register(string typeName, Func<LayerConfig, Layer> factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(typeName);
        ArgumentNullException.ThrowIfNull(factory);
        lock (s_factories)
            if (!s_factories.TryAdd(typeName, factory))
                throw new ArgumentException($"A layer type named '{typeName}' is already registered.", nameof(typeName));
    }

    /// <summary>Whether <paramref name="typeName"/> is registered.</summary>
    public static bool IsRegistered(string typeName)
    {
        lock (s_factories)
            return s_factories.ContainsKey(typeName);
    }

    /// <summary>Builds a new (unbuilt) layer from its config.</summary>
    /// <exception cref="ArgumentException">The type is not registered; the message lists the registered ones.</exception>
    public static Layer Create(LayerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        Func<LayerConfig, Layer>? factory;
        lock (s_factories)
            s_factories.TryGetValue(config.TypeName, out factory);
        if (factory is null)
            throw new ArgumentException($"No layer type '{config.TypeName}' is registered (custom layers need LayerRegistry.Register); registered: {string.Join(", ", TypeNames.Order())}.", nameof(config));
        Layer layer = factory(config);
        layer.ReadWeightSettings(config);
        return layer;
    }

    /// <summary>ZeroPadding2D's "padding": [top, bottom, left, right], or one integer for every side.</summary>
    private static ZeroPadding2D ZeroPadding2DFrom(LayerConfig c)
    {
        if (c.GetOrDefault<object?>("padding", null) is int all)
            return new ZeroPadding2D(all, NameOf(c));
        int[] p = c.Contains("padding") ? c.GetInts("padding") : [1, 1, 1, 1];
        if (p.Length != 4)
            throw new ArgumentException($"ZeroPadding2D config argument 'padding' must be [top, bottom, left, right], got {p.Length} values.");
        return new ZeroPadding2D((p[0], p[1]), (p[2], p[3]), NameOf(c));
    }

    private static string? NameOf(LayerConfig config) => config.Contains("name") ? config.GetString("name") : null;
}
