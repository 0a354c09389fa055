using NanoNet.Autograd;

namespace NanoNet.Layers;

/// <summary>
/// Keras's <c>MultiHeadAttention</c> on sequences: <c>Call(query, value, key, attentionMask, useCausalMask)</c>,
/// query (Tq, Dq), value (Tv, Dv), key (Tv, Dk; default: value), output (Tq, O).
/// </summary>
/// <remarks>
/// <para>Per head h (H = <see cref="NumHeads"/>, K = <see cref="KeyDim"/>, V = <see cref="ValueDim"/>):
/// Qₕ = (query·Wq + bq)ₕ/√K, Kₕ = key·Wk + bk, Vₕ = value·Wv + bv; Pₕ = softmax over the keys of Qₕ·Kₕᵀ, where
/// masked (query, key) pairs are set to −10⁹ first (Keras's large negative number); then dropout on P while
/// training, Cₕ = Pₕ·Vₕ, and the output Σₕ Cₕ·Woₕ + bo. It is written with the differentiable ops (projections as
/// <see cref="Ops.Linear"/>, batched <see cref="Ops.MatMul"/> per (example, head), <see cref="Ops.Softmax(Tensor)"/>,
/// <see cref="Ops.Permute"/>), so backward comes from the tape.</para>
/// <para>Weights, Keras's EinsumDense names and shapes: <c>query/kernel</c> (Dq, H, K), <c>query/bias</c> (H, K),
/// <c>key/kernel</c> (Dk, H, K), <c>key/bias</c> (H, K), <c>value/kernel</c> (Dv, H, V), <c>value/bias</c> (H, V),
/// <c>attention_output/kernel</c> (H, V, O), <c>attention_output/bias</c> (O); no biases without
/// <see cref="UseBias"/>. Kernels are Glorot-uniform with Keras's fans for these shapes, biases zero.</para>
/// <para>Masks, combined (a pair is attended only if every mask allows it): the <c>attentionMask</c> input
/// (Tq, Tv) (1 attends, 0 does not), the causal mask (query i sees keys j ≤ i), and the padding masks
/// the query, value and key carry (e.g. from <c>Embedding(maskZero: true)</c>). The output carries the
/// query's mask. A query with every key masked attends uniformly (as Keras's softmax without its final
/// multiplication by the mask).</para>
/// <para>In the graph the layer's inputs are [query, value], [query, value, key] or [query, value, key,
/// attentionMask] (key = value when only a mask is given). <c>useCausalMask</c> is fixed by the first
/// call and saved in the config.</para>
/// </remarks>
public sealed class MultiHeadAttention : MergeLayer
{
    /// <summary>What a masked score is set to before the softmax (Keras's large negative number for float32).</summary>
    private const float MaskedScore = -1e9f;

    private static readonly Tensor s_maskedScore = Tensor.Scalar(MaskedScore);

    /// <summary>(N, T, H, S) ↔ (N, H, T, S): its own inverse.</summary>
    private static readonly int[] s_swapStepsAndHeads = [0, 2, 1, 3];
    private readonly RandomStream _random;
    private bool? _useCausalMask;
    private Tensor? _queryKernel, _queryBias, _keyKernel, _keyBias, _valueKernel, _valueBias, _outputKernel, _outputBias, _causalMask;

    /// <summary>A multi-head attention layer (Keras's arguments).</summary>
    /// <param name="numHeads">Number of attention heads H.</param>
    /// <param name="keyDim">Size K of each head's query and key.</param>
    /// <param name="valueDim">Size V of each head's value (null: <paramref name="keyDim"/>).</param>
    /// <param name="dropout">Dropout rate on the attention probabilities while training, in [0, 1).</param>
    /// <param name="useBias">Whether the four projections have biases.</param>
    /// <param name="outputShape">The output's feature size O (null: the query's, Dq).</param>
    /// <param name="seed">The seed of the dropout masks.</param>
    /// <param name="name">The layer's name (null: a default such as "multi_head_attention_1").</param>
    public MultiHeadAttention(int numHeads, int keyDim, int? valueDim = null, float dropout = 0f, bool useBias = true, int? outputShape = null,
        int seed = 0, string? name = null) : base(name)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numHeads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(keyDim, 1);
        if (valueDim is < 1)
            throw new ArgumentOutOfRangeException(nameof(valueDim), valueDim, "MultiHeadAttention's value_dim must be at least 1.");
        if (outputShape is < 1)
            throw new ArgumentOutOfRangeException(nameof(outputShape), outputShape, "MultiHeadAttention's output_shape must be at least 1.");
        if (!(dropout >= 0f && dropout < 1f))
            throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "A dropout rate must be in [0, 1).");
        (NumHeads, KeyDim, ValueDim, Dropout, UseBias, OutputShapeArgument, Seed) = (numHeads, keyDim, valueDim ?? keyDim, dropout, useBias, outputShape, seed);
        _random = new RandomStream((uint)seed, RandomStreamIds.Dropout);
    }

    /// <summary>Number of heads H.</summary>
    public int NumHeads { get; }

    /// <summary>Size K of each head's query and key.</summary>
    public int KeyDim { get; }

    /// <summary>Size V of each head's value.</summary>
    public int ValueDim { get; }

    /// <summary>Dropout rate on the attention probabilities while training.</summary>
    public float Dropout { get; }

    /// <summary>Whether the projections have biases.</summary>
    public bool UseBias { get; }

    /// <summary>The output feature size as given (null: the query's).</summary>
    public int? OutputShapeArgument { get; }

    /// <summary>The seed of the dropout masks.</summary>
    public int Seed { get; }

    /// <summary>Whether query i attends only keys j ≤ i (fixed by the first call).</summary>
    public bool UseCausalMask => _useCausalMask ?? false;

    /// <summary>The (Tq, Tv) causal mask (1: attended), when <see cref="UseCausalMask"/>.</summary>
    internal Tensor? CausalMask => _causalMask;

    /// <summary>Whether the calls pass a separate key tensor (the third input).</summary>
    public bool HasKeyInput => InputShapes.Count >= 3;

    /// <summary>Whether the calls pass an attention mask (the fourth input).</summary>
    public bool HasAttentionMask => InputShapes.Count == 4;

    /// <summary>The query projection's kernel (Dq, H, K).</summary>
    public Tensor QueryKernel => _queryKernel ?? throw NotBuilt();

    /// <summary>The query projection's bias (H, K), or null without <see cref="UseBias"/>.</summary>
    public Tensor? QueryBias => Built(_queryBias);

    /// <summary>The key projection's kernel (Dk, H, K).</summary>
    public Tensor KeyKernel => _keyKernel ?? throw NotBuilt();

    /// <summary>The key projection's bias (H, K), or null.</summary>
    public Tensor? KeyBias => Built(_keyBias);

    /// <summary>The value projection's kernel (Dv, H, V).</summary>
    public Tensor ValueKernel => _valueKernel ?? throw NotBuilt();

    /// <summary>The value projection's bias (H, V), or null.</summary>
    public Tensor? ValueBias => Built(_valueBias);

    /// <summary>The output projection's kernel (H, V, O).</summary>
    public Tensor OutputKernel => _outputKernel ?? throw NotBuilt();

    /// <summary>The output projection's bias (O), or null.</summary>
    public Tensor? OutputBias => Built(_outputBias);

    /// <summary>The mask dropout draws from: read to save it, set to continue from a saved state.</summary>
    public RandomStreamState RandomState
    {
        get => _random.State;
        set => _random.Restore(value);
    }

    /// <inheritdoc />
    protected internal override string DefaultName => "multi_head_attention";

    /// <inheritdoc />
    protected override int MaxInputs => 4;

    /// <inheritdoc />
    public override bool SupportsMasking => true;

    /// <summary>
    /// Keras's <c>call(query, value, key=None, attention_mask=None, use_causal_mask=False)</c> on symbolic
    /// tensors: query (Tq, Dq), value (Tv, Dv), key (Tv, Dk), attentionMask (Tq, Tv).
    /// </summary>
    /// <exception cref="ArgumentException">Shapes that do not fit (the message names the layer and the shapes), or a <paramref name="useCausalMask"/> that differs from an earlier call's.</exception>
    public SymbolicTensor Call(SymbolicTensor query, SymbolicTensor value, SymbolicTensor? key = null, SymbolicTensor? attentionMask = null, bool useCausalMask = false)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(value);
        if (_useCausalMask is bool fixedCausal && fixedCausal != useCausalMask)
            throw new ArgumentException($"Layer '{Name}' (MultiHeadAttention) was first called with useCausalMask: {fixedCausal}; every call must use the same.");
        _useCausalMask = useCausalMask;
        return attentionMask is not null ? Call([query, value, key ?? value, attentionMask])
            : key is not null ? Call([query, value, key])
            : Call([query, value]);
    }

    /// <summary>Sets the causal flag a saved config holds, before the layer is called (for <see cref="LayerRegistry"/>).</summary>
    internal MultiHeadAttention WithCausalMask(bool useCausalMask)
    {
        _useCausalMask = useCausalMask;
        return this;
    }

    /// <inheritdoc />
    protected override int[] ComputeOutputShape(int[][] shapes)
    {
        string layer = Name.Length > 0 ? Name : DefaultName;
        bool sequences = shapes.Take(3).All(s => s.Length == 2);
        int[] query = shapes[0], value = shapes[1], key = shapes.Length > 2 ? shapes[2] : value;
        if (!sequences || key[0] != value[0] || (shapes.Length == 4 && !shapes[3].AsSpan().SequenceEqual([query[0], value[0]])))
            throw new ArgumentException($"Layer '{layer}' (MultiHeadAttention) needs query (Tq, Dq), value (Tv, Dv), key (Tv, Dk) and attention mask (Tq, Tv); got {FormatShapes(shapes)}.");
        int heads = NumHeads, outputs = OutputShapeArgument ?? query[1];
        _queryKernel = AddWeight("query/kernel", [query[1], heads, KeyDim], Glorot(query[1], heads, KeyDim));
        _queryBias = UseBias ? AddWeight("query/bias", [heads, KeyDim], Zeros) : null;
        _keyKernel = AddWeight("key/kernel", [key[1], heads, KeyDim], Glorot(key[1], heads, KeyDim));
        _keyBias = UseBias ? AddWeight("key/bias", [heads, KeyDim], Zeros) : null;
        _valueKernel = AddWeight("value/kernel", [value[1], heads, ValueDim], Glorot(value[1], heads, ValueDim));
        _valueBias = UseBias ? AddWeight("value/bias", [heads, ValueDim], Zeros) : null;
        _outputKernel = AddWeight("attention_output/kernel", [heads, ValueDim, outputs], Glorot(heads, ValueDim, outputs));
        _outputBias = UseBias ? AddWeight("attention_output/bias", [outputs], Zeros) : null;
        if (UseCausalMask)
            _causalMask = BuildCausalMask(query[0], value[0]);
        return [query[0], outputs];
    }

    /// <summary>Keras's glorot_uniform on a rank-3 kernel (a, b, c): fan_in = a·b, fan_out = a·c (its receptive-field rule).</summary>
    private static WeightInitializer Glorot(int a, int b, int c) => (w, rng) => Initializers.GlorotUniform(w, a * b, a * c, rng);

    /// <summary>The (Tq, Tv) lower-triangular 0/1 mask: query i sees keys j ≤ i.</summary>
    private static Tensor BuildCausalMask(int queries, int keys)
    {
        Tensor mask = Tensor.Zeros(queries, keys);
        for (int i = 0; i < queries; i++)
            mask.Span.Slice(i * keys, Math.Min(i + 1, keys)).Fill(1f);
        return mask;
    }

    /// <inheritdoc />
    protected override Tensor OnForward(IReadOnlyList<Tensor> inputs, bool training)
    {
        Tensor query = inputs[0], value = inputs[1], key = inputs.Count > 2 ? inputs[2] : value;
        int n = query.Dim(0), tq = query.Dim(1), tv = value.Dim(1), heads = NumHeads;
        // (N, T, D) → (N, T, H, S) → (N, H, T, S); the query scaled by 1/√K as Keras does.
        Tensor q = Ops.Permute(Project(query, QueryKernel, _queryBias, heads, KeyDim), s_swapStepsAndHeads) * (1f / MathF.Sqrt(KeyDim));
        Tensor k = Ops.Permute(Project(key, KeyKernel, _keyBias, heads, KeyDim), s_swapStepsAndHeads);
        Tensor v = Ops.Permute(Project(value, ValueKernel, _valueBias, heads, ValueDim), s_swapStepsAndHeads);
        Tensor scores = Ops.MatMul(q, k, transposeB: true);                               // (N, H, Tq, Tv)
        if (CombinedMask(inputs, n, tq, tv) is { } mask)
            scores = Ops.Where(mask, scores, s_maskedScore);
        Tensor probabilities = Ops.Softmax(scores);                                         // over the keys
        if (training && Dropout > 0f)
            probabilities = Ops.Dropout(probabilities, Dropout, _random);
        Tensor context = Ops.Permute(Ops.MatMul(probabilities, v), s_swapStepsAndHeads);   // (N, Tq, H, V)
        Tensor rows = Ops.Reshape(context, n * tq, heads * ValueDim);
        // The weights are viewed per call (a view made once would keep a gradient that Fit later drops).
        Tensor kernel = Ops.Reshape(OutputKernel, heads * ValueDim, OutputKernel.Dim(2));
        Tensor y = _outputBias is null ? Ops.MatMul(rows, kernel) : Ops.Linear(rows, kernel, _outputBias);
        return Ops.Reshape(y, [n, tq, kernel.Dim(1)]);
    }

    /// <summary>x (N, T, D)·W (D, H, S) + b (H, S) as one (N·T, D)·(D, H·S) product, viewed as (N, T, H, S).</summary>
    private static Tensor Project(Tensor x, Tensor kernel, Tensor? bias, int heads, int size)
    {
        int n = x.Dim(0), t = x.Dim(1), d = x.Dim(2);
        Tensor rows = Ops.Reshape(x, n * t, d), w = Ops.Reshape(kernel, d, heads * size);
        Tensor y = bias is null ? Ops.MatMul(rows, w) : Ops.Linear(rows, w, Ops.Reshape(bias, [heads * size]));
        return Ops.Reshape(y, [n, t, heads, size]);
    }

    /// <summary>Every mask that applies, multiplied together, broadcastable to the scores (N, H, Tq, Tv); null when none.</summary>
    private Tensor? CombinedMask(IReadOnlyList<Tensor> inputs, int n, int tq, int tv)
    {
        Tensor? mask = null;
        using (Tape.NoGrad())
        {
            if (inputs.Count == 4)
                mask = And(mask, Ops.Reshape(inputs[3], n, 1, tq, tv));
            if (inputs[0].Mask is { } queryMask)
                mask = And(mask, Ops.Reshape(queryMask, n, 1, tq, 1));
            if (inputs[1].Mask is { } valueMask)
                mask = And(mask, Ops.Reshape(valueMask, n, 1, 1, tv));
            if (inputs.Count > 2 && !ReferenceEquals(inputs[2], inputs[1]) && inputs[2].Mask is { } keyMask)
                mask = And(mask, Ops.Reshape(keyMask, n, 1, 1, tv));
            if (_causalMask is { } causal)
                mask = And(mask, causal);
        }
        return mask;

        static Tensor And(Tensor? mask, Tensor next) => mask is null ? next : Ops.Multiply(mask, next);
    }

    /// <summary>The output carries the query's mask (Keras).</summary>
    protected override Tensor? OutputMask(IReadOnlyList<Tensor> inputs) => inputs[0].Mask;

    /// <inheritdoc />
    public override LayerConfig GetConfig()
    {
        LayerConfig config = base.GetConfig().Set("num_heads", NumHeads).Set("key_dim", KeyDim).Set("value_dim", ValueDim)
            .Set("dropout", Dropout).Set("use_bias", UseBias).Set("seed", Seed).Set("use_causal_mask", UseCausalMask);
        return OutputShapeArgument is int outputs ? config.Set("output_shape", outputs) : config;
    }

    /// <inheritdoc />
    public override string Describe() => $"heads={NumHeads}, key_dim={KeyDim}" + (UseCausalMask ? ", causal" : "");

    private Tensor? Built(Tensor? weight) => IsBuilt ? weight : throw NotBuilt();
}
