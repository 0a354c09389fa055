using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NanoNet.Kernels;

/// <summary>
/// The Winograd weight gradient on AVX2 + FMA machines (no AVX-512): <see cref="WinogradWeightGradient"/>'s F(3×3, 4×4) with
/// 8-lane transforms, U packed by 32 filters and V by 8 channels, both tile by tile (V[i][j][e] holds channels 8i.. of
/// element e of tile j, U[p][j][e] filters 32p.. of it), each 8-channel × 32-filter block of M as four 4×16 register tiles
/// (8 accumulators of the 16 YMM registers) of the generic weight-gradient tile. Every M element is still one chain of
/// multiply-adds over the tiles in order, so the sums are the AVX-512 path's wherever both fuse their multiply-adds.
/// </summary>
/// <remarks>
/// <para>Why: on a Zen 3 core the direct weight gradient ran the Keras 3×3 layers at 81–89% of the FMA peak, after Winograd's
/// forward and input gradient had cut those to a third: the weight gradients were then two fifths of the training step
/// (benchmarks/README.md, forty-second sitting).</para>
/// <para>Why tile by tile (the AVX-512 path keeps element by element, V[i][e][j]): a tile's transforms then store into 36·8
/// and 36·32 contiguous floats instead of 36 lines a group's width apart, each an L1 miss on a 32 KB L1d (as in the AVX2
/// forward, WinogradConv.Avx2.cs); the products walk the tiles 36 elements apart. The Keras step 1.3–1.4% faster at 1 thread
/// on a Zen 3 core (forty-eighth sitting).</para>
/// </remarks>
internal static unsafe partial class WinogradWeightGradient
{
    /// <summary><see cref="ComputeInGroups"/> on 8 lanes.</summary>
    private static void ComputeInGroups256(float* x, int images, in ConvGeometry g, float* dZ, int filters, float* result, float* workspace, int group,
        bool pooled)
    {
        const int lanes = 8, panelWidth = WinogradConv.FilterPanel;
        int c = g.Channels, oh = g.OutputHeight, ow = g.OutputWidth;
        int rowsIn = pooled ? oh / 2 * 2 : oh, columnsIn = pooled ? ow / 2 * 2 : ow;
        (int down, int across) = Tiles(g, pooled);
        int perImage = down * across, tiles = images * perImage;
        float* v = workspace, u = v + (long)Elements * group * c, m = u + (long)Elements * group * filters;
        float* block = m + (long)(c / 8) * (filters / panelWidth) * MBlock, scratch = block + Elements * c;
        long rowStride = (long)ow * filters, tapStride = (long)c * filters;
        // V and U tile by tile (tile j's 36 elements in a row: its transforms' stores fill contiguous lines); the products
        // walk the tiles 36 elements apart.
        const int vTile = Elements * lanes, uTile = Elements * panelWidth, vElement = lanes, uElement = panelWidth;
        long vVector = (long)group * vTile, uPanel = (long)group * uTile;
        for (int first = 0; first < tiles; first += group)
        {
            int count = Math.Min(group, tiles - first);
            bool add = first > 0, last = first + count == tiles;
            for (int j = 0; j < count; j++)
            {
                int tile = first + j, image = tile / perImage, th = tile % perImage / across, tw = tile % across;
                float* d = WinogradConv.InputBlock(x + (long)image * g.InputImageSize, g, TileOutputs * th, TileOutputs * tw, TileInputs, block, out int dRow);
                WinogradTile4x4Lanes8.TransformInput(d, dRow, c, v + (long)j * vTile, vElement, vVector, scratch);
                TransformGradient256(dZ + (long)image * oh * rowStride + TileOutputs * th * rowStride + (long)TileOutputs * tw * filters, rowStride,
                    Math.Min(TileOutputs, rowsIn - TileOutputs * th), Math.Min(TileOutputs, columnsIn - TileOutputs * tw), filters,
                    u + (long)j * uTile, uElement, uPanel);
            }
            // M[e] (+)= V[e]ᵀ·U[e] over the group's tiles: each 8-channel × 32-filter block as four 4×16 tiles, its 36
            // elements before the next block, and its dW made after the last group while M is in L1.
            var walk = ConvWeightGradient.Walk.Matrix(count, vTile);
            for (int f = 0; f < filters; f += panelWidth)
            {
                float* panel = u + f / panelWidth * uPanel;
                for (int k = 0; k < c; k += 8)
                {
                    float* vector = v + k / lanes * vVector;
                    float* mBlock = m + ((long)k / 8 * (filters / panelWidth) + f / panelWidth) * MBlock;
                    for (int e = 0; e < Elements; e++)
                        for (int half = 0; half < 8; half += 4)
                            for (int q = 0; q < panelWidth; q += 16)
                            {
                                if (k == 0 && e == DbElement && half == 0) // this tile also sums db over the tiles (DbElement)
                                    ConvWeightGradient.Tile<Lanes256, TileRows4, ConvWeightGradient.ColumnSumsToo>(walk, vector + e * vElement + half,
                                        panel + e * uElement + q, uTile, mBlock + e * MElement + half * panelWidth + q, panelWidth, add,
                                        result + 9 * tapStride + f + q);
                                else
                                    ConvWeightGradient.Tile<Lanes256, TileRows4>(walk, vector + e * vElement + half, panel + e * uElement + q, uTile,
                                        mBlock + e * MElement + half * panelWidth + q, panelWidth, add);
                            }
                    if (last)
                        for (int channel = 0; channel < 8; channel++)
                            for (int lane = 0; lane < panelWidth; lane += lanes)
                                TransformWeights256(mBlock + channel * panelWidth + lane, MElement,
                                    result + (long)(k + channel) * filters + f + lane, tapStride);
                }
            }
        }
    }

    /// <summary>
    /// U = A·dz·Aᵀ of one tile for all F filters, 8 at a time (the 8-lane <see cref="TransformGradient"/>): dz's rows <paramref name="rowStride"/> floats apart, pixels F
    /// apart, only <paramref name="rows"/> × <paramref name="columns"/> of its 4×4 inside the output (the rest count as 0);
    /// element e of filters 32p + q.. (q = 0, 8, 16 or 24) to u + p·<paramref name="panelStride"/> + e·<paramref name="elementStride"/> + q.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TransformGradient256(float* dz, long rowStride, int rows, int columns, int filters, float* u, long elementStride, long panelStride)
    {
        const int lanes = 8;
        for (int f = 0; f < filters; f += lanes)
        {
            // dz·Aᵀ: each row i (its four columns) into six values r_i0..r_i5, 24 vectors: more than the 16 YMM registers, some on the stack.
            float* p = dz + f;
            SpreadRow(p, filters, rows > 0, columns, out Vector256<float> r00, out Vector256<float> r01, out Vector256<float> r02,
                out Vector256<float> r03, out Vector256<float> r04, out Vector256<float> r05);
            SpreadRow(p + rowStride, filters, rows > 1, columns, out Vector256<float> r10, out Vector256<float> r11, out Vector256<float> r12,
                out Vector256<float> r13, out Vector256<float> r14, out Vector256<float> r15);
            SpreadRow(p + 2 * rowStride, filters, rows > 2, columns, out Vector256<float> r20, out Vector256<float> r21, out Vector256<float> r22,
                out Vector256<float> r23, out Vector256<float> r24, out Vector256<float> r25);
            SpreadRow(p + 3 * rowStride, filters, rows > 3, columns, out Vector256<float> r30, out Vector256<float> r31, out Vector256<float> r32,
                out Vector256<float> r33, out Vector256<float> r34, out Vector256<float> r35);
            // A·(dz·Aᵀ): each column b of that, over its four rows; element (a, b) at u + (6a + b)·elementStride.
            float* o = u + f / WinogradConv.FilterPanel * panelStride + f % WinogradConv.FilterPanel;
            long down = 6 * elementStride;
            Spread(r00, r10, r20, r30, o, down);
            Spread(r01, r11, r21, r31, o + elementStride, down);
            Spread(r02, r12, r22, r32, o + 2 * elementStride, down);
            Spread(r03, r13, r23, r33, o + 3 * elementStride, down);
            Spread(r04, r14, r24, r34, o + 4 * elementStride, down);
            Spread(r05, r15, r25, r35, o + 5 * elementStride, down);
        }

    }

    /// <summary>
    /// A applied to one row of a dZ tile (four pixels <paramref name="filters"/> floats apart, 8 filters each); pixels past
    /// <paramref name="columns"/>, or the whole row when it lies outside the output, count as 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SpreadRow(float* p, int filters, bool inside, int columns, out Vector256<float> o0, out Vector256<float> o1,
        out Vector256<float> o2, out Vector256<float> o3, out Vector256<float> o4, out Vector256<float> o5) =>
        Spread(At256(p, inside && columns > 0), At256(p + filters, inside && columns > 1), At256(p + 2 * filters, inside && columns > 2),
            At256(p + 3 * filters, inside && columns > 3), out o0, out o1, out o2, out o3, out o4, out o5);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> At256(float* p, bool inside) => inside ? Vector256.Load(p) : Vector256<float>.Zero;

    /// <summary>
    /// A (the transpose of the forward's Aᵀ) applied to four values: (x0, x0 + x1 + x2 + x3, x0 − x1 + x2 − x3,
    /// x0 + 2x1 + 4x2 + 8x3, x0 − 2x1 + 4x2 − 8x3, x3), stored <paramref name="stride"/> floats apart.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Spread(Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float> x3, float* o, long stride)
    {
        Spread(x0, x1, x2, x3, out Vector256<float> o0, out Vector256<float> o1, out Vector256<float> o2, out Vector256<float> o3,
            out Vector256<float> o4, out Vector256<float> o5);
        WinogradConv.StoreSix(o, stride, o0, o1, o2, o3, o4, o5);
    }

    /// <summary>The same, the six results in registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Spread(Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float> x3,
        out Vector256<float> o0, out Vector256<float> o1, out Vector256<float> o2, out Vector256<float> o3, out Vector256<float> o4, out Vector256<float> o5)
    {
        Vector256<float> four = Vector256.Create(4f);
        Vector256<float> even = x0 + x2, odd = x1 + x3;
        Vector256<float> evenWide = Vector256.FusedMultiplyAdd(four, x2, x0), oddWide = Vector256.FusedMultiplyAdd(four, x3, x1) * Vector256.Create(2f);
        o0 = x0;
        o1 = even + odd;
        o2 = even - odd;
        o3 = evenWide + oddWide;
        o4 = evenWide - oddWide;
        o5 = x3;
    }

    /// <summary>
    /// dW = Gᵀ·M·G for one channel and 8 filters: element e at m + e·<paramref name="elementStride"/>, tap (kh, kw) to
    /// w + (3kh + kw)·<paramref name="tapStride"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TransformWeights256(float* m, long elementStride, float* w, long tapStride)
    {
        // M·G: each row a of M (elements 6a..6a + 5) into three values t_a0..t_a2, 18 vectors: some on the stack.
        Fold(m, elementStride, out Vector256<float> t00, out Vector256<float> t01, out Vector256<float> t02);
        Fold(m + 6 * elementStride, elementStride, out Vector256<float> t10, out Vector256<float> t11, out Vector256<float> t12);
        Fold(m + 12 * elementStride, elementStride, out Vector256<float> t20, out Vector256<float> t21, out Vector256<float> t22);
        Fold(m + 18 * elementStride, elementStride, out Vector256<float> t30, out Vector256<float> t31, out Vector256<float> t32);
        Fold(m + 24 * elementStride, elementStride, out Vector256<float> t40, out Vector256<float> t41, out Vector256<float> t42);
        Fold(m + 30 * elementStride, elementStride, out Vector256<float> t50, out Vector256<float> t51, out Vector256<float> t52);
        // Gᵀ·(M·G): each column kw of that, over its six rows; tap (kh, kw) at w + (3kh + kw)·tapStride.
        FoldColumn(t00, t10, t20, t30, t40, t50, w, tapStride);
        FoldColumn(t01, t11, t21, t31, t41, t51, w + tapStride, tapStride);
        FoldColumn(t02, t12, t22, t32, t42, t52, w + 2 * tapStride, tapStride);
    }

    /// <summary>Gᵀ applied to one column of M·G: taps (0, kw), (1, kw), (2, kw) stored 3·<paramref name="tapStride"/> apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FoldColumn(Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float> x3, Vector256<float> x4,
        Vector256<float> x5, float* w, long tapStride)
    {
        Fold(x0, x1, x2, x3, x4, x5, out Vector256<float> k0, out Vector256<float> k1, out Vector256<float> k2);
        k0.Store(w);
        k1.Store(w + 3 * tapStride);
        k2.Store(w + 6 * tapStride);
    }

    /// <summary>Gᵀ applied to the six values at <paramref name="x"/>, <paramref name="stride"/> floats apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Fold(float* x, long stride, out Vector256<float> o0, out Vector256<float> o1, out Vector256<float> o2) =>
        Fold(Vector256.Load(x), Vector256.Load(x + stride), Vector256.Load(x + 2 * stride), Vector256.Load(x + 3 * stride),
            Vector256.Load(x + 4 * stride), Vector256.Load(x + 5 * stride), out o0, out o1, out o2);

    /// <summary>
    /// Gᵀ applied to six values: (¼x0 − ⅙(x1 + x2) + (x3 + x4)/24, (x2 − x1)/6 + (x3 − x4)/12, (x3 + x4 − x1 − x2)/6 + x5).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Fold(Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float> x3,
        Vector256<float> x4, Vector256<float> x5, out Vector256<float> o0, out Vector256<float> o1, out Vector256<float> o2)
    {
        Vector256<float> sixth = Vector256.Create(1f / 6);
        Vector256<float> sum12 = x1 + x2, difference12 = x2 - x1, sum34 = x3 + x4, difference34 = x3 - x4;
        Vector256<float> outer = sum34 * Vector256.Create(1f / 24) - sum12 * sixth;
        o0 = Vector256.FusedMultiplyAdd(Vector256.Create(0.25f), x0, outer);
        o1 = Vector256.FusedMultiplyAdd(difference34, Vector256.Create(1f / 12), difference12 * sixth);
        o2 = Vector256.FusedMultiplyAdd(sum34 - sum12, sixth, x5);
    }
}
