namespace NanoNet.Layers;

/// <summary>
/// Keras's <c>SpatialDropout1D</c>: dropout of whole channels of (batch, steps, channels) sequences — one
/// keep/drop draw per (sample, channel), the same at every step. See <see cref="SpatialDropout"/>.
/// </summary>
public sealed class SpatialDropout1D : SpatialDropout
{
    /// <summary>A layer dropping a fraction <paramref name="rate"/> of each sample's channels while training.</summary>
    /// <param name="rate">The probability of zeroing a channel, in [0, 1).</param>
    /// <param name="seed">The seed of the layer's mask generator.</param>
    /// <param name="name">The layer's name (null: a default such as "spatial_dropout1d_1").</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rate"/> is not in [0, 1).</exception>
    public SpatialDropout1D(float rate, int seed = 0, string? name = null) : base(rate, seed, name)
    {
    }

    /// <inheritdoc />
    protected internal override string DefaultName => "spatial_dropout1d";

    private protected override int ExampleRank => 2;

    private protected override string ExampleShapeName => "sequences of shape (steps, channels)";
}
