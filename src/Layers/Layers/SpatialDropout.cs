using System.Globalization;

namespace NanoNet.Layers;

/// <summary>
/// What <see cref="SpatialDropout1D"/> and <see cref="SpatialDropout2D"/> share (Keras's <c>SpatialDropout</c>
/// family): while training, each feature map — one channel of one sample, across all its steps or pixels — is
/// kept with probability 1 − <see cref="Rate"/> and scaled by 1/(1 − <see cref="Rate"/>), or else zeroed as a
/// whole; at inference the input is returned unchanged (the same tensor). Channels last.
/// </summary>
/// <remarks>
/// <para>
/// The (batch, channels) masks come from the layer's own <see cref="RandomStream"/> (seed <see cref="Seed"/>,
/// stream <see cref="RandomStreamIds.SpatialDropout"/>), drawn as <see cref="Ops.SpatialDropout"/> describes:
/// each training call advances it by batch × channels, a run is reproducible from the seed and bit-identical
/// at any thread count, and <see cref="RandomState"/> is the generator's state for a checkpoint to save and
/// restore (as <see cref="Dropout.RandomState"/>).
/// </para>
/// <para>It passes masks on (<see cref="SupportsMasking"/>) and exports to ONNX as Identity.</para>
/// </remarks>
public abstract class SpatialDropout : Layer
{
    private readonly RandomStream _random;

    /// <summary>A spatial dropout layer dropping a fraction <paramref name="rate"/> of the feature maps while training.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rate"/> is not in [0, 1).</exception>
    private protected SpatialDropout(float rate, int seed, string? name) : base(name)
    {
        if (!(rate >= 0f && rate < 1f))
            throw new ArgumentOutOfRangeException(nameof(rate), rate, "A dropout rate must be in [0, 1).");
        Rate = rate;
        Seed = seed;
        _random = new RandomStream((uint)seed, RandomStreamIds.SpatialDropout);
    }

    /// <summary>The probability of zeroing a feature map while training.</summary>
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
    public override bool SupportsMasking => true;

    /// <summary>The per-example input rank the layer takes: 2 for (steps, channels), 3 for (height, width, channels).</summary>
    private protected abstract int ExampleRank { get; }

    /// <summary>The per-example shape in words, for the error message.</summary>
    private protected abstract string ExampleShapeName { get; }

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape)
    {
        if (inputShape.Length != ExampleRank)
            throw new ArgumentException($"Layer '{Name}' ({GetType().Name}) expects {ExampleShapeName}, got per-example shape {Shapes.Format(inputShape)}.");
        return inputShape;
    }

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training) => training ? Ops.SpatialDropout(x, Rate, _random) : x;

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().Set("rate", Rate).Set("seed", Seed);

    /// <inheritdoc />
    public override string Describe() => $"rate={Rate.ToString(CultureInfo.InvariantCulture)}";
}
