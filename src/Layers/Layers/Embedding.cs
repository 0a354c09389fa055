namespace NanoNet.Layers;

/// <summary>
/// Turns integer token ids into dense vectors: input (N, T) of ids (stored as floats), output (N, T, dim).
/// The table (vocabSize, dim) is initialised uniform(−0.05, 0.05), as Keras does.
/// </summary>
/// <remarks>
/// <para>Backward adds the output gradient into only the rows of the ids in the batch (see
/// <see cref="Ops.Embedding"/>); an id outside [0, vocabSize) is an error naming the id and the size.</para>
/// <para>With <c>maskZero</c>, id 0 is padding (Keras' <c>mask_zero=True</c>): its row gets no gradient,
/// and a following <see cref="Lstm"/> layer receives the padding mask and skips those steps (carrying
/// its state through them), so a pre-padded sequence is read as if it started at its first real
/// token. Like Keras, the vocabulary size must then count id 0. The mask reaches only a layer directly
/// after the embedding.</para>
/// </remarks>
/// <param name="vocabSize">Number of ids (V): ids are in [0, V).</param>
/// <param name="dim">Width of each vector.</param>
/// <param name="maskZero">Treat id 0 as padding.</param>
/// <param name="name">Layer name, or null for a default.</param>
public sealed class Embedding(int vocabSize, int dim, bool maskZero = false, string? name = null) : Layer(name)
{
    private Tensor? _table;

    /// <summary>Number of ids the table holds.</summary>
    public int VocabSize { get; } = vocabSize > 0 ? vocabSize : throw new ArgumentOutOfRangeException(nameof(vocabSize), vocabSize, "Embedding needs a vocabulary of at least one id.");

    /// <summary>Width of the vectors.</summary>
    public int Dim { get; } = dim > 0 ? dim : throw new ArgumentOutOfRangeException(nameof(dim), dim, "Embedding needs a width of at least 1.");

    /// <summary>Whether id 0 is padding (no gradient; masked for a following LSTM).</summary>
    public bool MaskZero { get; } = maskZero;

    /// <summary>The table, shape (vocabSize, dim).</summary>
    public Tensor Table => _table ?? throw new InvalidOperationException($"Layer '{Name}' is not built.");

    /// <inheritdoc />
    protected internal override string DefaultName => "embedding";

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape)
    {
        if (inputShape.Length == 0)
            throw new ArgumentException($"Layer '{Name}' (Embedding) needs sequences of ids, e.g. per-example shape (T), got ().");
        _table = AddWeight("embeddings", [VocabSize, Dim], static (w, rng) => Initializers.FillUniform(w, rng, -0.05f, 0.05f));
        return [.. inputShape, Dim];
    }

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training)
    {
        Tensor y = Ops.Embedding(x, Table, MaskZero);
        if (MaskZero && x.Rank == 2)
            y.Mask = Ops.PaddingMask(x);
        return y;
    }

    /// <inheritdoc />
    /// <summary>Checks a batch of ids is (N, <see cref="Layer.InputShape"/>), as <see cref="Layer.Forward"/> does.</summary>
    internal void CheckIds(Tensor ids) => CheckInput(ids);

    /// <inheritdoc />
    public override LayerConfig GetConfig() =>
        base.GetConfig().Set("input_dim", VocabSize).Set("output_dim", Dim).Set("mask_zero", MaskZero);

    /// <inheritdoc />
    public override string Describe() => $"vocab={VocabSize}, dim={Dim}" + (MaskZero ? ", mask_zero" : "");
}
