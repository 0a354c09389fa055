using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NanoNet.Kernels;

/// <summary>
/// The weight gradient of a 3×3, stride-1 convolution by Winograd's F(3×3, 4×4): the forward's F(4×4, 3×3) read the other
/// way round. Each 4×4 block of dZ meets its 6×6 block of input with 36 multiply-adds per (channel, filter) instead of
/// the direct method's 144 (4x fewer), for transforms before and after.
/// </summary>
/// <remarks>
/// <para>Shape legend: x is images×H×W×C (NHWC), read in place (a block reaching over the image's edge, past the
/// convolution's zero border or a last partial tile, is gathered with zeros first); dZ is images×OH×OW×F (the masked or unpooled output gradient); the
/// result [dW; db] is (9·C + 1)×F, row-major, as <see cref="DirectConvWeightGradient"/> writes it (dW the (3, 3, C, F)
/// kernel read as 9C×F, db its last row). A <b>tile</b> is the 4×4 block of dZ at (4·th, 4·tw) (zeros past the output's
/// edge) with the 6×6 input block at the same corner; an <b>element</b> e = 6a + b is one of the 36 transformed positions.</para>
/// <para>Why the forward's matrices serve: the forward computes y = Aᵀ[(G·g) ⊙ (Bᵀ·d)], so the sum Σ_i dy_i·y_i is the
/// same for every g as Σ_e (A·dy)_e·(G·g)_e·(Bᵀ·d)_e, and its derivative by the kernel tap g_k, the weight gradient
/// Σ_i dy_i·d_(i+k), is Σ_e G[e, k]·(A·dy)_e·(Bᵀ·d)_e. In two dimensions, per tile, channel c and filter f:
/// <code>
/// V = Bᵀ·d·B        (the forward's input transform, WinogradTile4x4.TransformInput)
/// U = A·dz·Aᵀ       (the forward's output transform turned round: 4×4 dZ values into 36)
/// M[e] = Σ_tiles V[e]·U[e]   (36 products, each summed over every tile of the chunk)
/// dW = Gᵀ·M·G       (once per chunk: 36 sums into the 9 taps)
/// db = Σ_tiles U[(1, 1)]     (A's row 1 is all ones: that element is its tile's sum of dZ)
/// </code>
/// The sum over tiles is 36 skinny products, (C × tiles)·(tiles × F), the shape of the direct weight gradient's sum over
/// pixels: the same register tile (<see cref="ConvWeightGradient.Tile{TLanes, TRows}"/>, 8 channels × 32 filters) walks
/// the tiles of V[e] and U[e], packed as it reads them (V by 16 channels, U by 32 filters, each a run of whole elements).
/// The tiles go in groups whose V and U stay in L2 (<see cref="TilesPerGroup"/>); each group's products go on from the
/// sums the group before stored, so every M element is one chain of multiply-adds over the tiles in order, whatever the
/// grouping. A block of 8 channels × 32 filters runs all 36 elements before the next, so after the last group its M is
/// turned into dW while in L1.</para>
/// <para>Cost, measured (benchmarks/README.md, sixteenth sitting): the products run at 70–90% of the FMA peak, and the
/// transforms of V and U take about a third of the time, so the Keras layers' weight gradients run 1.2–1.6x faster than
/// the direct kernel, not 4x.</para>
/// <para>Numerics: as the F(4×4) forward (its coefficients 4, 5 and 8 in U and V, sixths and 1/24 in G): each weight
/// gradient within about 1e−5 of the sum of its |terms| (tests), far inside the noise of a mini-batch gradient. Results do
/// not depend on the thread count: the chunk's sums are its own. An infinite input spreads through its tile's V, so all
/// nine taps of its channel come out non-finite (the direct method gives ±∞ or NaN in the taps it reaches), and a NaN in
/// dZ makes every tap of its filter NaN; never a finite value (tests).</para>
/// </remarks>
internal static unsafe partial class WinogradWeightGradient
{
    /// <summary>dZ values per tile side (m), input values per tile side (m + 2), and transformed elements ((m + 2)²).</summary>
    public const int TileOutputs = 4, TileInputs = 6, Elements = 36;

    /// <summary>
    /// Floats between two elements of one 8-channel × 32-filter block of M: its 8 × 32 sums and a cache line of padding, so
    /// the 36 elements of a block (39 KB) fall in different L1 sets. Unpadded, with 32 channels × 32 filters between them,
    /// they were 4 KB apart (16 KB for 64 × 64), all in one set of the 12-way L1, and the output transform's 36 loads missed.
    /// </summary>
    private const int MElement = 8 * 32 + 16;

    /// <summary>Floats of one block of M: 36 elements.</summary>
    private const int MBlock = Elements * MElement;

    /// <summary>
    /// The element of U whose sum over the tiles is db = Σ dZ: element (1, 1), A's row 1 being all ones, so U[7] is its
    /// tile's sum of dZ. The register tile of that element also sums its B rows (<see cref="ConvWeightGradient.ColumnSumsToo"/>):
    /// the chains a 1-row tile over a constant 1 ran in a walk of its own before, the same bits.
    /// </summary>
    internal const int DbElement = 7;

    /// <summary>Off only in tests and benchmarks, to compare with the direct weight gradient.</summary>
    internal static bool Enabled = true;

    /// <summary>
    /// Whether this convolution's weight gradient runs here: where the Winograd forward runs (<see cref="WinogradConv.Applies"/>:
    /// 3×3 at stride 1, whole channel vectors and filter panels; 16 lanes on AVX-512, 8 on AVX2, WinogradWeightGradient.Avx2.cs).
    /// </summary>
    public static bool Applies(in ConvGeometry g, int filters) => Enabled && WinogradConv.Applies(g, filters);

    /// <summary>
    /// Tiles per group: as many as keep the group's V and U (36 × tiles × (C + F) floats) within 3/8 of L2 (as a chunk's
    /// im2col matrix, <see cref="Conv2DKernels.ImagesPerChunk(in ConvGeometry)"/>), leaving room for M (36·C·F) and the
    /// group's inputs; 16 to 256. Emerald Rapids (2 MB): 85 tiles for 32 → 32, 42 for 64 → 64, so each of the Keras
    /// layers' chunks is one group and M is written once; Zen 5 (1 MB): 42 and 21.
    /// </summary>
    internal static int TilesPerGroup(in ConvGeometry g, int filters, long l2) =>
        (int)Math.Clamp(l2 * 3 / 8 / ((long)Elements * (g.Channels + filters) * sizeof(float)), 16, 256);

    /// <summary>Tiles down and across one image: ⌈OH/4⌉ × ⌈OW/4⌉, or after a 2×2 pooling over the 2·PH × 2·PW outputs its
    /// windows read (as the pooled forward tiles them, <see cref="WinogradConv.Tiles"/>).</summary>
    public static (int Down, int Across) Tiles(in ConvGeometry g, bool pooled = false) => WinogradConv.Tiles(g, pooled, TileOutputs);

    /// <summary>Floats of one worker's workspace: V and U for a group of tiles (this machine's, or <paramref name="group"/>), M,
    /// an edge tile's gathered input block and the transforms' scratch.</summary>
    public static int WorkspaceLength(in ConvGeometry g, int filters, int group = 0)
    {
        if (group == 0)
            group = TilesPerGroup(g, filters, CpuCaches.OfThisMachine.L2);
        return Elements * (group * (g.Channels + filters) + g.Channels + WinogradConv.ChannelLanes) + g.Channels / 8 * (filters / 32) * MBlock;
    }

    /// <summary>
    /// result[(9C+1)×F] = [dW; db] of a chunk of images (overwrites the result; <see cref="Applies"/> must hold).
    /// </summary>
    /// <param name="x">The chunk's images, images×H×W×C (unpadded: tiles reaching past the image are gathered with zeros).</param>
    /// <param name="images">Images in the chunk.</param>
    /// <param name="g">The convolution.</param>
    /// <param name="dZ">The chunk's output gradient, images×OH×OW×F.</param>
    /// <param name="filters">F.</param>
    /// <param name="result">(9C + 1)×F floats.</param>
    /// <param name="workspace">Of <see cref="WorkspaceLength"/> floats, on a cache line.</param>
    /// <param name="pooled">Whether dZ was unpooled from disjoint 2×2 windows: then only its first 2·PH × 2·PW outputs can
    /// be nonzero, and only the tiles over them run.</param>
    public static void Compute(float* x, int images, in ConvGeometry g, float* dZ, int filters, float* result, float* workspace,
        bool pooled = false) =>
        ComputeInGroups(x, images, g, dZ, filters, result, workspace, TilesPerGroup(g, filters, CpuCaches.OfThisMachine.L2), pooled);

    /// <summary>
    /// The same in groups of <paramref name="group"/> tiles (the tests: any grouping gives the same bits).
    /// </summary>
    /// <remarks>
    /// Pooled, the tiles lie over the outputs the pooling reads only, as the pooled forward's: the Keras 64 → 64 layer's
    /// 13×13 output, pooled to 6×6, has 3×3 tiles instead of 4×4. A tile over zeros only adds V·0 to M, which changes
    /// nothing but the sign of a zero, so the sums are those of all the tiles, except that an infinite input seen only by
    /// the dropped outputs no longer makes its taps NaN (the pooled forward never used those outputs either).
    /// </remarks>
    internal static void ComputeInGroups(float* x, int images, in ConvGeometry g, float* dZ, int filters, float* result, float* workspace, int group,
        bool pooled = false)
    {
        if (!Vector512.IsHardwareAccelerated)
        {
            ComputeInGroups256(x, images, g, dZ, filters, result, workspace, group, pooled);
            return;
        }
        int c = g.Channels, oh = g.OutputHeight, ow = g.OutputWidth;
        // dZ's rows and columns that can be nonzero (the rest is zero): all of it, or what the 2×2 windows cover.
        int rowsIn = pooled ? oh / 2 * 2 : oh, columnsIn = pooled ? ow / 2 * 2 : ow;
        (int down, int across) = Tiles(g, pooled);
        int perImage = down * across, tiles = images * perImage;
        float* v = workspace, u = v + (long)Elements * group * c, m = u + (long)Elements * group * filters;
        float* block = m + (long)(c / 8) * (filters / WinogradConv.FilterPanel) * MBlock, scratch = block + Elements * c;
        long rowStride = (long)ow * filters, tapStride = (long)c * filters;
        // V and U packed as the register tile reads them, each a run of whole elements: V by 16 channels (V[i][e][j] holds
        // channels 16i.. of element e of tile j), U by 32 filters (U[p][e][j] holds filters 32p..). A tile's walk over the
        // group is then one stream of 64 or 128 bytes a step, and a 16-channel by 32-filter block's 36 elements two.
        long vElement = (long)group * WinogradConv.ChannelLanes, vVector = Elements * vElement;
        long uElement = (long)group * WinogradConv.FilterPanel, uPanel = Elements * uElement;
        for (int first = 0; first < tiles; first += group)
        {
            int count = Math.Min(group, tiles - first);
            bool add = first > 0, last = first + count == tiles;
            // V and U of the group's tiles.
            for (int j = 0; j < count; j++)
            {
                int tile = first + j, image = tile / perImage, th = tile % perImage / across, tw = tile % across;
                float* d = WinogradConv.InputBlock(x + (long)image * g.InputImageSize, g, TileOutputs * th, TileOutputs * tw, TileInputs, block, out int dRow);
                WinogradTile4x4.TransformInput(d, dRow, c, v + (long)j * WinogradConv.ChannelLanes, vElement, vVector, scratch);
                TransformGradient(dZ + (long)image * oh * rowStride + TileOutputs * th * rowStride + (long)TileOutputs * tw * filters, rowStride,
                    Math.Min(TileOutputs, rowsIn - TileOutputs * th), Math.Min(TileOutputs, columnsIn - TileOutputs * tw), filters,
                    u + (long)j * WinogradConv.FilterPanel, uElement, uPanel);
            }
            // M[e] (+)= V[e]ᵀ·U[e] over the group's tiles, 8 channels × 32 filters a register tile (chains going on across
            // groups), all 36 elements of one such block before the next: after the last group the block's M is whole, and
            // its dW = Gᵀ·M·G is made while those 36 KB are still in L1.
            var walk = ConvWeightGradient.Walk.Matrix(count, WinogradConv.ChannelLanes);
            for (int f = 0; f < filters; f += WinogradConv.FilterPanel)
            {
                float* panel = u + f / WinogradConv.FilterPanel * uPanel;
                for (int k = 0; k < c; k += 8)
                {
                    float* vector = v + k / WinogradConv.ChannelLanes * vVector + k % WinogradConv.ChannelLanes;
                    float* mBlock = m + ((long)k / 8 * (filters / WinogradConv.FilterPanel) + f / WinogradConv.FilterPanel) * MBlock;
                    for (int e = 0; e < Elements; e++)
                    {
                        if (k == 0 && e == DbElement) // this tile also sums db over the tiles (two more chains)
                            ConvWeightGradient.Tile<Lanes512, TileRows8, ConvWeightGradient.ColumnSumsToo>(walk, vector + e * vElement,
                                panel + e * uElement, WinogradConv.FilterPanel, mBlock + e * MElement, WinogradConv.FilterPanel, add,
                                result + 9 * tapStride + f);
                        else
                            ConvWeightGradient.Tile<Lanes512, TileRows8>(walk, vector + e * vElement, panel + e * uElement, WinogradConv.FilterPanel,
                                mBlock + e * MElement, WinogradConv.FilterPanel, add);
                    }
                    if (last)
                        for (int channel = 0; channel < 8; channel++)
                            for (int lane = 0; lane < WinogradConv.FilterPanel; lane += WinogradConv.ChannelLanes)
                                TransformWeights(mBlock + channel * WinogradConv.FilterPanel + lane, MElement,
                                    result + (long)(k + channel) * filters + f + lane, tapStride);
                }
            }
        }
    }

    /// <summary>
    /// U = A·dz·Aᵀ of one tile for all F filters, 16 at a time: dz's rows <paramref name="rowStride"/> floats apart, pixels F
    /// apart, only <paramref name="rows"/> × <paramref name="columns"/> of its 4×4 inside the output (the rest count as 0);
    /// element e of filters 32p + q.. (q = 0 or 16) to u + p·<paramref name="panelStride"/> + e·<paramref name="elementStride"/> + q.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TransformGradient(float* dz, long rowStride, int rows, int columns, int filters, float* u, long elementStride, long panelStride)
    {
        const int lanes = WinogradConv.ChannelLanes;
        for (int f = 0; f < filters; f += lanes)
        {
            // dz·Aᵀ: each row i (its four columns) into six values r_i0..r_i5, kept in registers (24 of the 32).
            float* p = dz + f;
            SpreadRow(p, filters, rows > 0, columns, out Vector512<float> r00, out Vector512<float> r01, out Vector512<float> r02,
                out Vector512<float> r03, out Vector512<float> r04, out Vector512<float> r05);
            SpreadRow(p + rowStride, filters, rows > 1, columns, out Vector512<float> r10, out Vector512<float> r11, out Vector512<float> r12,
                out Vector512<float> r13, out Vector512<float> r14, out Vector512<float> r15);
            SpreadRow(p + 2 * rowStride, filters, rows > 2, columns, out Vector512<float> r20, out Vector512<float> r21, out Vector512<float> r22,
                out Vector512<float> r23, out Vector512<float> r24, out Vector512<float> r25);
            SpreadRow(p + 3 * rowStride, filters, rows > 3, columns, out Vector512<float> r30, out Vector512<float> r31, out Vector512<float> r32,
                out Vector512<float> r33, out Vector512<float> r34, out Vector512<float> r35);
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
    /// A applied to one row of a dZ tile (four pixels <paramref name="filters"/> floats apart, 16 filters each); pixels past
    /// <paramref name="columns"/>, or the whole row when it lies outside the output, count as 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SpreadRow(float* p, int filters, bool inside, int columns, out Vector512<float> o0, out Vector512<float> o1,
        out Vector512<float> o2, out Vector512<float> o3, out Vector512<float> o4, out Vector512<float> o5) =>
        Spread(At(p, inside && columns > 0), At(p + filters, inside && columns > 1), At(p + 2 * filters, inside && columns > 2),
            At(p + 3 * filters, inside && columns > 3), out o0, out o1, out o2, out o3, out o4, out o5);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> At(float* p, bool inside) => inside ? Vector512.Load(p) : Vector512<float>.Zero;

    /// <summary>
    /// A (the transpose of the forward's Aᵀ) applied to four values: (x0, x0 + x1 + x2 + x3, x0 − x1 + x2 − x3,
    /// x0 + 2x1 + 4x2 + 8x3, x0 − 2x1 + 4x2 − 8x3, x3), stored <paramref name="stride"/> floats apart.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Spread(Vector512<float> x0, Vector512<float> x1, Vector512<float> x2, Vector512<float> x3, float* o, long stride)
    {
        Spread(x0, x1, x2, x3, out Vector512<float> o0, out Vector512<float> o1, out Vector512<float> o2, out Vector512<float> o3,
            out Vector512<float> o4, out Vector512<float> o5);
        WinogradConv.StoreSix(o, stride, o0, o1, o2, o3, o4, o5);
    }

    /// <summary>The same, the six results in registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Spread(Vector512<float> x0, Vector512<float> x1, Vector512<float> x2, Vector512<float> x3,
        out Vector512<float> o0, out Vector512<float> o1, out Vector512<float> o2, out Vector512<float> o3, out Vector512<float> o4, out Vector512<float> o5)
    {
        Vector512<float> four = Vector512.Create(4f);
        Vector512<float> even = x0 + x2, odd = x1 + x3;
        Vector512<float> evenWide = Vector512.FusedMultiplyAdd(four, x2, x0), oddWide = Vector512.FusedMultiplyAdd(four, x3, x1) * Vector512.Create(2f);
        o0 = x0;
        o1 = even + odd;
        o2 = even - odd;
        o3 = evenWide + oddWide;
        o4 = evenWide - oddWide;
        o5 = x3;
    }

    /// <summary>
    /// dW = Gᵀ·M·G for one channel and 16 filters: element e at m + e·<paramref name="elementStride"/>, tap (kh, kw) to
    /// w + (3kh + kw)·<paramref name="tapStride"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TransformWeights(float* m, long elementStride, float* w, long tapStride)
    {
        // M·G: each row a of M (elements 6a..6a + 5) into three values t_a0..t_a2, kept in registers (18 of the 32).
        Fold(m, elementStride, out Vector512<float> t00, out Vector512<float> t01, out Vector512<float> t02);
        Fold(m + 6 * elementStride, elementStride, out Vector512<float> t10, out Vector512<float> t11, out Vector512<float> t12);
        Fold(m + 12 * elementStride, elementStride, out Vector512<float> t20, out Vector512<float> t21, out Vector512<float> t22);
        Fold(m + 18 * elementStride, elementStride, out Vector512<float> t30, out Vector512<float> t31, out Vector512<float> t32);
        Fold(m + 24 * elementStride, elementStride, out Vector512<float> t40, out Vector512<float> t41, out Vector512<float> t42);
        Fold(m + 30 * elementStride, elementStride, out Vector512<float> t50, out Vector512<float> t51, out Vector512<float> t52);
        // Gᵀ·(M·G): each column kw of that, over its six rows; tap (kh, kw) at w + (3kh + kw)·tapStride.
        FoldColumn(t00, t10, t20, t30, t40, t50, w, tapStride);
        FoldColumn(t01, t11, t21, t31, t41, t51, w + tapStride, tapStride);
        FoldColumn(t02, t12, t22, t32, t42, t52, w + 2 * tapStride, tapStride);
    }

    /// <summary>Gᵀ applied to one column of M·G: taps (0, kw), (1, kw), (2, kw) stored 3·<paramref name="tapStride"/> apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FoldColumn(Vector512<float> x0, Vector512<float> x1, Vector512<float> x2, Vector512<float> x3, Vector512<float> x4,
        Vector512<float> x5, float* w, long tapStride)
    {
        Fold(x0, x1, x2, x3, x4, x5, out Vector512<float> k0, out Vector512<float> k1, out Vector512<float> k2);
        k0.Store(w);
        k1.Store(w + 3 * tapStride);
        k2.Store(w + 6 * tapStride);
    }

    /// <summary>Gᵀ applied to the six values at <paramref name="x"/>, <paramref name="stride"/> floats apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Fold(float* x, long stride, out Vector512<float> o0, out Vector512<float> o1, out Vector512<float> o2) =>
        Fold(Vector512.Load(x), Vector512.Load(x + stride), Vector512.Load(x + 2 * stride), Vector512.Load(x + 3 * stride),
            Vector512.Load(x + 4 * stride), Vector512.Load(x + 5 * stride), out o0, out o1, out o2);

    /// <summary>
    /// Gᵀ applied to six values: (¼x0 − ⅙(x1 + x2) + (x3 + x4)/24, (x2 − x1)/6 + (x3 − x4)/12, (x3 + x4 − x1 − x2)/6 + x5).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Fold(Vector512<float> x0, Vector512<float> x1, Vector512<float> x2, Vector512<float> x3,
        Vector512<float> x4, Vector512<float> x5, out Vector512<float> o0, out Vector512<float> o1, out Vector512<float> o2)
    {
        Vector512<float> sixth = Vector512.Create(1f / 6);
        Vector512<float> sum12 = x1 + x2, difference12 = x2 - x1, sum34 = x3 + x4, difference34 = x3 - x4;
        Vector512<float> outer = sum34 * Vector512.Create(1f / 24) - sum12 * sixth;
        o0 = Vector512.FusedMultiplyAdd(Vector512.Create(0.25f), x0, outer);
        o1 = Vector512.FusedMultiplyAdd(difference34, Vector512.Create(1f / 12), difference12 * sixth);
        o2 = Vector512.FusedMultiplyAdd(sum34 - sum12, sixth, x5);
    }
}
