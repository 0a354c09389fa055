namespace NanoNet;

/// <summary>
/// The stream ids NanoNet derives from one seed, one range per purpose, so that no two uses of a seed
/// ever draw the same random numbers (the weights of layer 1 and the shuffle of epoch 1 must not be
/// correlated). The high 32 bits of an id name the purpose, the low 32 bits the index within it.
/// Stream 0 is never used by the library: it is the default of <see cref="RandomStream"/>'s constructor,
/// <see cref="Tensor.RandomUniform"/> and <see cref="Tensor.RandomNormal"/>, and is left to user code.
/// </summary>
public static class RandomStreamIds
{
    private const ulong LayerWeightsTag = 1UL << 32;
    private const ulong AugmentationTag = 2UL << 32;
    private const ulong DropoutTag = 3UL << 32;
    private const ulong RecurrentDropoutTag = 4UL << 32;
    private const ulong SpatialDropoutTag = 5UL << 32;

    /// <summary>The shuffle of epoch <paramref name="epoch"/> (1, 2, ...) in <c>MiniBatchLoader</c>: the id is the epoch itself.</summary>
    public static ulong EpochShuffle(int epoch) => (uint)epoch;

    /// <summary>The initial weights of the layer at <paramref name="layerIndex"/> (0, 1, ...) in a <c>Sequential</c> model.</summary>
    public static ulong LayerWeights(int layerIndex) => LayerWeightsTag | (uint)layerIndex;

    /// <summary>The draws of an <c>ImageAugmentation</c>.</summary>
    public static ulong Augmentation => AugmentationTag;

    /// <summary>The masks of a <c>Dropout</c> layer (under the layer's own seed).</summary>
    public static ulong Dropout => DropoutTag;

    /// <summary>The input and recurrent dropout masks of a recurrent layer (<c>Lstm</c>, <c>Gru</c>, <c>SimpleRnn</c>; under the layer's own seed).</summary>
    public static ulong RecurrentDropout => RecurrentDropoutTag;

    /// <summary>The per-channel masks of a <c>SpatialDropout1D</c> or <c>SpatialDropout2D</c> layer (under the layer's own seed).</summary>
    public static ulong SpatialDropout => SpatialDropoutTag;
}
