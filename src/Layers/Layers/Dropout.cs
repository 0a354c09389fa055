namespace NanoNet.Layers;

/// <summary>
/// Keras's <c>Dropout</c>: while training, each element is kept with probability 1 − <see cref="Rate"/> and
/// scaled by 1/(1 − <see cref="Rate"/>), or else zeroed (inverted dropout); at inference the input is
/// returned unchanged (the same tensor).
/// </summary>
/// <remarks>
/// <para>
/// The masks come from the layer's own <see cref="RandomStream"/> (seed <see cref="Seed"/>, stream
/// <see cref="RandomStreamIds.Dropout"/>). Each training call advances it by half the batch's element count (16 random
/// bits per element, see <see cref="Ops.Dropout"/>), so
/// successive batches get different masks while a run is reproducible from the seed and bit-identical at
/// any thread count. Two Dropout layers with the same seed draw the same sequence: give them different
/// seeds. <see cref="RandomState"/> is the generator's state, for a checkpoint to save and restore.
/// </para>
/// <para>Dropout passes masks on (<see cref="SupportsMasking"/>) and exports to ONNX as Identity.</para>
/// </remarks>
public sealed class Dropout : Layer
{
    private readonly RandomStream _random;

    /// <summary>A dropout layer dropping a fraction <paramref name="rate"/> of the elements while training.</summary>
    /// <param name="rate">The probability of zeroing an element, in [0, 1).</param>
    /// <param name="seed">The seed of the layer's mask generator.</param>
    /// <param name="name">The layer's name (null: a default such as "dropout_1").</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rate"/> is not in [0, 1).</exception>
    public Dropout(float rate, int seed = 0, string? name = null) : base(name)
    {
        if (!(rate >= 0f && rate < 1f))
            throw new ArgumentOutOfRangeException(nameof(rate), rate, "A dropout rate must be in [0, 1).");
        Rate = rate;
        Seed = seed;
        _random = new RandomStream((uint)seed, RandomStreamIds.Dropout);
    }

    /// <summary>The probability of zeroing an element while training.</summary>
    public float Rate { get; }

    /// <summary>The seed of the mask generator.</summary>
    public int Seed { get; }

    /// <summary>
    /// The mask generator's state: read it to save it (e.g. in a checkpoint), set it to continue from a saved
    /// state (the next training call then draws the same mask it would have drawn).
    /// </summary>
    public RandomStreamState RandomState
    {
        get => _random.State;
        set => _random.Restore(value);
    }

    /// <inheritdoc />
    protected internal override string DefaultName => "dropout";

    /// <inheritdoc />
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape) => inputShape;

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training) => training ? Ops.Dropout(x, Rate, _random) : x;

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().Set("rate", Rate).Set("seed", Seed);

    /// <inheritdoc />
    public override string Describe() => $"rate={Rate.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
}
