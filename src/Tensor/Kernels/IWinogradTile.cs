using System.Runtime.Intrinsics;

namespace NanoNet.Kernels;

/// <summary>
/// One tile size of Winograd's minimal filtering F(m×m, 3×3): the three transforms that turn a 3×3 convolution of an
/// (m + 2)×(m + 2) input block into (m + 2)² independent products, as <see cref="WinogradConv"/> runs them. The struct
/// implementing it is a type argument, so each size's transforms are inlined into the loop (as TensorPrimitives'
/// operator structs are).
/// </summary>
/// <remarks>
/// Shape legend: g is one channel's 3×3 kernel for 16 filters (9 vectors, tap kh·3 + kw, read in place); d the (m + 2)² input block of
/// one tile (rows <c>rowStride</c> floats apart, pixels C apart, 16 channels per vector); V and M hold a tile's elements
/// <c>elementStride</c> floats apart (the AVX-512 forward: element e of a block's 8 tiles at e·8·C in V and e·8·32 in M;
/// the AVX2 forward: tile by tile, C and 32 apart); Y is the tile's m×m outputs for 16 filters, at the strides given.
/// </remarks>
internal unsafe interface IWinogradTile
{
    /// <summary>m: outputs per side of a tile (its input block has m + 2).</summary>
    static abstract int Outputs { get; }

    /// <summary>Filters (or channels) per vector of the transforms: 16 (AVX-512) or 8 (AVX2, the <c>Lanes8</c> tiles).</summary>
    static abstract int Lanes { get; }

    /// <summary>
    /// U = G·g·Gᵀ for 16 filters of one channel: the 9 taps, tap kh·3 + kw at g + (kh·3 + kw)·<paramref name="tapStride"/>,
    /// into the (m + 2)² elements, element e at u + e·<paramref name="elementStride"/>.
    /// </summary>
    static abstract void TransformFilter(float* g, long tapStride, float* u, long elementStride);

    /// <summary>
    /// V = Bᵀ·d·B of one tile for all C channels, 16 at a time: element e of channels 16i..16i + 16 to
    /// v + i·<paramref name="vectorStride"/> + e·<paramref name="elementStride"/> (the forward's block of 8 tiles: 16 and
    /// 8·C, each element's channels in a row). <paramref name="scratch"/> holds (m + 2)² vectors between the column and row passes.
    /// </summary>
    static abstract void TransformInput(float* d, int rowStride, int channels, float* v, long elementStride, long vectorStride, float* scratch);

    /// <summary>
    /// Y = Aᵀ·M·A of one tile for 16 filters: element e at m + e·<paramref name="elementStride"/>; output (i, j) to
    /// y + i·<paramref name="rowStride"/> + j·<paramref name="columnStride"/> (a tile buffer, or the output image itself).
    /// <paramref name="scratch"/> holds (m + 2)·m vectors between the row and column passes.
    /// </summary>
    static abstract void TransformOutput(float* m, long elementStride, float* y, long rowStride, long columnStride, float* scratch);
}
