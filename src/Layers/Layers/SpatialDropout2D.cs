namespace NanoNet.Layers;

/// <summary>
/// Keras's <c>SpatialDropout2D</c>: dropout of whole feature maps of (batch, height, width, channels) images —
/// one keep/drop draw per (sample, channel), the same at every pixel. See <see cref="SpatialDropout"/>.
/// </summary>
public sealed class SpatialDropout2D : SpatialDropout
{
    /// <summary>A layer dropping a fraction <paramref name="rate"/> of each sample's feature maps while training.</summary>
    /// <param name="rate">The probability of zeroing a feature map, in [0, 1).</param>
    /// <param name="seed">The seed of the layer's mask generator.</param>
    /// <param name="name">The layer's name (null: a default such as "spatial_dropout2d_1").</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rate"/> is not in [0, 1).</exception>
    public SpatialDropout2D(float rate, int seed = 0, string? name = null) : base(rate, seed, name)
    {
    }

    /// <inheritdoc />
    protected internal override string DefaultName => "spatial_dropout2d";

    private protected override int ExampleRank => 3;

    private protected override string ExampleShapeName => "images of shape (height, width, channels)";
}
