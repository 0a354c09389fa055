using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NanoNet.Kernels;

/// <summary>
/// The Winograd forward on AVX2 + FMA machines (no AVX-512): <see cref="WinogradConv"/>'s algorithm (blocks of 8 tiles,
/// panels of 32 filters, U as on AVX-512), with 8-lane transforms (<see cref="WinogradTile4x4Lanes8"/>,
/// <see cref="WinogradTile2x2Lanes8"/>), each element's 8 × 32 product as four 4×16 tiles
/// (<see cref="GemmMicroKernels.Kernel4x16"/>: 8 accumulators each, of the 16 YMM registers), and V and M kept tile by tile.
/// </summary>
/// <remarks>
/// <para>Shape legend: as <see cref="WinogradConv"/>, except the block workspace's order. Per block of 8 tiles: V (8 tiles ×
/// elements × C: tile j's element e at v + (j·E + e)·C), then per panel of 32 filters M[e] = V[e]·U[e] (8 × C times C × 32,
/// row j of V[e] E·C floats after row j − 1) for every element into M (8 tiles × elements × 32), then each tile's outputs 8
/// filters at a time.</para>
/// <para>Why tile by tile: a block's V is 36 × 8 × C floats (36 KB at 32 channels, 72 KB at 64), more than a Zen 3 core's
/// 32 KB L1d. Kept element by element (the AVX-512 layout), the input transform's 36 stores per channel vector land 8·C
/// floats apart, a line each, every one an L1 miss by the time the products and U have passed through (at 32 channels the
/// elements 1 KB apart also fall 9 to an 8-way set); the output transform's 36 loads of M the same. Tile by tile, a tile's
/// stores fill 36·C contiguous floats, line after line, and its loads of M 36 × 32. The products read V[e]'s 8 rows 36·C
/// floats apart instead of C, which costs them about 3% with warm caches. Measured on a Zen 3 core (benchmarks/README.md,
/// forty-eighth sitting): the input transform of the Keras 32-channel layer 287 → 157 ns a tile alone, each Winograd pass
/// of the Keras layers 8–12% faster, the Keras training step 9% faster at 1 thread.</para>
/// <para>Numerics: the same transforms in the same order lane for lane, and each M element is one FMA chain over the
/// channels as in the 8×32 kernel, so an AVX2 machine gives the AVX-512 machines' bits wherever both fuse the
/// multiply-adds the same way (the tests hold both to the double-precision sum, as before); the order of the workspace
/// changes no sum.</para>
/// <para>Why: on a Zen 3 core the Keras model's 3×3 layers (32 and 64 channels) ran their forward and input gradient
/// directly at 60–90% of the FMA peak, and F(4×4) does 4x fewer multiply-adds (benchmarks/README.md, forty-second sitting).</para>
/// </remarks>
internal static unsafe partial class WinogradConv
{
    /// <summary>Channels and filters per 8-lane vector (the <c>Lanes8</c> tiles' <see cref="IWinogradTile.Lanes"/>).</summary>
    private const int Lanes256 = 8;

    /// <summary>Whether this machine runs the 8-lane Winograd forward: no accelerated 512-bit vectors, the 6×16 GEMM kernel
    /// (AVX2) and FMA.</summary>
    private static bool Runs256 => !Vector512.IsHardwareAccelerated && Gemm.BestKernel == GemmKernelKind.Vector256 && Fma.IsSupported;

    private static void Forward256<T>(float* x, int images, in ConvGeometry g, float* u, float* bias, int filters, bool relu,
        float* y, int* argmax, bool pooled, float* workspace, bool accumulate) where T : struct, IWinogradTile
    {
        int m = T.Outputs, elements = Elements(m), c = g.Channels, oh = g.OutputHeight, ow = g.OutputWidth, panels = filters / FilterPanel;
        int ph = oh / 2, pw = ow / 2, windows = m / 2; // pooled outputs, and pooling windows per tile side
        (int down, int across) = Tiles(g, pooled, m);
        int perImage = down * across, tiles = images * perImage;
        // A pooling window's other outputs, from its first (MaxPoolKernels.Window2x2).
        Vector256<int> right = Vector256.Create(filters), below = Vector256.Create(ow * filters);
        float* v = workspace, mBlock = v + elements * BlockTiles * c, yTile = mBlock + elements * BlockTiles * FilterPanel;
        float* scratch = yTile + m * m * ChannelLanes, block = scratch + elements * ChannelLanes;
        // V and M tile by tile: tile j's elements at v + j·E·C (each element's C channels in a row) and mBlock + j·E·32.
        int vTile = elements * c, mTile = elements * FilterPanel;
        // Whole tiles of a plain output (not pooled, no bias, no ReLU, stored, not added: an input gradient's) go from the
        // output transform straight into y, without the round trip through yTile (the Keras step ~1% faster at 1 thread).
        bool plain = !pooled && bias == null && !relu && !accumulate;
        for (int first = 0; first < tiles; first += BlockTiles)
        {
            int count = Math.Min(BlockTiles, tiles - first);
            // V for the block's tiles; a last partial block repeats its last tile (computed, never stored).
            for (int j = 0; j < BlockTiles; j++)
            {
                int tile = first + Math.Min(j, count - 1), image = tile / perImage, th = tile % perImage / across, tw = tile % across;
                float* d = InputBlock(x + (long)image * g.InputImageSize, g, m * th, m * tw, m + 2, block, out int rowStride);
                T.TransformInput(d, rowStride, c, v + j * vTile, c, Lanes256, scratch);
            }
            for (int p = 0; p < panels; p++)
            {
                // M[e] = V[e]·U[e] for the 8 tiles and this panel's 32 filters: four 4×16 tiles per element, V[e]'s rows
                // (row j at v + j·E·C + e·C) read in place.
                for (int e = 0; e < elements; e++)
                {
                    float* ve = v + e * c, ue = u + ((long)p * elements + e) * c * FilterPanel, me = mBlock + e * FilterPanel;
                    for (int half = 0; half < BlockTiles; half += 4)
                        for (int q = 0; q < FilterPanel; q += 16)
                            GemmMicroKernels.Kernel4x16(c, ve + half * vTile, vTile, 1, ue + q, FilterPanel, me + half * mTile + q, mTile,
                                add: false, rows: 4);
                }
                for (int j = 0; j < count; j++)
                {
                    int tile = first + j, image = tile / perImage, th = tile % perImage / across, tw = tile % across;
                    // The tile's outputs inside the image (a last tile may hang past its bottom or right edge).
                    int rows = Math.Min(m, oh - m * th), columns = Math.Min(m, ow - m * tw);
                    for (int f = p * FilterPanel; f < (p + 1) * FilterPanel; f += Lanes256)
                    {
                        float* mAt = mBlock + j * mTile + f % FilterPanel, yAt = y + (((long)image * oh + m * th) * ow + m * tw) * filters + f;
                        if (plain && rows == m && columns == m)
                        {
                            T.TransformOutput(mAt, FilterPanel, yAt, (long)ow * filters, filters, scratch);
                            continue;
                        }
                        T.TransformOutput(mAt, FilterPanel, yTile, m * Lanes256, Lanes256, scratch);
                        Vector256<float> b = bias == null ? Vector256<float>.Zero : Vector256.Load(bias + f);
                        if (pooled)
                        {
                            // The tile's (m/2)² pooling windows, each 2×2 outputs, those inside the pooled output only.
                            for (int wi = 0; wi < windows; wi++)
                                for (int wj = 0; wj < windows; wj++)
                                {
                                    int row = th * windows + wi, column = tw * windows + wj;
                                    if (row >= ph || column >= pw)
                                        continue;
                                    float* corner = yTile + (2 * wi * m + 2 * wj) * Lanes256;
                                    long o = (((long)image * ph + row) * pw + column) * filters + f;
                                    int index = (2 * row * ow + 2 * column) * filters + f; // the window's first pixel in the conv output
                                    MaxPoolKernels.Window2x2(Act(Vector256.Load(corner) + b, relu), Act(Vector256.Load(corner + Lanes256) + b, relu),
                                        Act(Vector256.Load(corner + m * Lanes256) + b, relu), Act(Vector256.Load(corner + (m + 1) * Lanes256) + b, relu),
                                        y + o, argmax == null ? null : argmax + o, index, right, below, relu);
                                }
                            continue;
                        }
                        for (int i = 0; i < rows; i++)
                            for (int k = 0; k < columns; k++)
                            {
                                Vector256<float> value = Act(Vector256.Load(yTile + (i * m + k) * Lanes256) + b, relu);
                                float* at = yAt + ((long)i * ow + k) * filters;
                                (accumulate ? Vector256.Load(at) + value : value).Store(at);
                            }
                    }
                }
            }
        }
    }

    /// <summary>Six vectors stored <paramref name="stride"/> floats apart from <paramref name="o"/> (a transformed column or row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StoreSix(float* o, long stride, Vector256<float> v0, Vector256<float> v1, Vector256<float> v2, Vector256<float> v3,
        Vector256<float> v4, Vector256<float> v5)
    {
        v0.Store(o);
        v1.Store(o + stride);
        v2.Store(o + 2 * stride);
        v3.Store(o + 3 * stride);
        v4.Store(o + 4 * stride);
        v5.Store(o + 5 * stride);
    }

    /// <summary>ReLU as the 16-lane forward applies it (the IEEE max: NaN kept, +0 over −0), or the identity.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Act(Vector256<float> v, bool relu) => relu ? Vector256.Max(v, Vector256<float>.Zero) : v;
}
