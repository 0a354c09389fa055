using NanoNet.Memory;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NanoNet.Kernels;

/// <summary>
/// The direct convolution's forward: y = act(x∗w + b) for a chunk of images, a tile of 2×4 output pixels × 32 filters
/// at a time with its patches read in place from the images (see <see cref="DirectConv"/>), and optionally a fused 2×2
/// max pooling of the tile before anything is stored.
/// </summary>
/// <remarks>
/// <para>Shape legend: the source images are Hp×Wp×C (<see cref="DirectConv.Source"/>); w is (KH, KW, C, F) = P×F,
/// P = KH·KW·C, run = KW·C; bias is F; y is images×OH×OW×F; the pooled y is images×PH×PW×F with PH = ⌊OH/2⌋,
/// PW = ⌊OW/2⌋, and argmax (training) holds each maximum's position in its image's convolution output,
/// oh·OW·F + ow·F + f, exactly as <see cref="MaxPoolKernels"/> over the separate convolution would, or with the ReLU
/// <see cref="Conv2DKernels.ZeroedWindow"/> where that maximum is not &gt; 0 (as <see cref="Conv2DKernels.ForwardMaxPool"/>);
/// the ReLU's bits (a training stem) are images×OH×OW×F/32 ints (<see cref="ReluBits"/>).</para>
/// <para>The tile: output rows oh and oh + 1, pixels ow..ow+3, filters f..f+31, in 16 Vector512 accumulators (the GEMM's
/// 8×32 micro-kernel, with the 8 rows of A being 8 pixels of the image instead of 8 rows of a packed panel). For each
/// p = (kh·KW + kw)·C + c it loads w[p, f..f+32) as two vectors and broadcasts the 8 pixels' values x[oh·sh + kh,
/// ow·sw + kw, c]: in image row (oh + r)·sh + kh they lie sw·C floats apart. No im2col matrix is written or read.</para>
/// <para>Edges: a last row pair or pixel quad that would pass the end is moved back to end at the edge, so it
/// recomputes a row or a few pixels (the same values again); with OW = 30 that is 2 of 32 columns. Pooled, the last window
/// of an odd pooled width runs alone in a 2×2-pixel tile of 8 accumulators instead (<see cref="WindowTile"/>).</para>
/// </remarks>
internal static unsafe class DirectConvForward
{
    /// <summary>Whether <see cref="ForwardMaxPool"/> fuses this pooling: 2×2 windows, stride 2, no padding.</summary>
    public static bool PoolApplies(in ConvGeometry pool) =>
        pool is { KernelHeight: 2, KernelWidth: 2, StrideHeight: 2, StrideWidth: 2, PadTop: 0, PadLeft: 0, DilationHeight: 1, DilationWidth: 1 }
        && pool.PadBottom == 0 && pool.PadRight == 0 && pool.OutputHeight >= 1 && pool.OutputWidth >= 2;

    /// <summary>
    /// y[images×OH×OW×F] = act(x∗w + b) (<see cref="DirectConv.Applies"/> must hold), and, when <paramref name="reluBits"/>
    /// is not null, the ReLU's derivative as bits (images×OH×OW×F/32 ints, <see cref="ReluBits"/>).
    /// </summary>
    public static void Forward(DirectConv.Source x, int images, in ConvGeometry g, float* w, float* bias, int filters, bool relu, float* y,
        int* reluBits = null)
    {
        int oh1 = g.OutputHeight, ow1 = g.OutputWidth, groups = filters / 32;
        var tile = new TileShape(g, x.RowStride, filters, relu);
        for (int i = 0; i < images; i++)
        {
            float* image = x.Images + (long)i * x.ImageStride;
            for (int oh = 0; oh < oh1; oh += 2)
            {
                int top = Math.Min(oh, oh1 - 2);
                for (int ow = 0; ow < ow1; ow += 4)
                {
                    int left = Math.Min(ow, ow1 - 4);
                    float* a = image + (long)top * g.StrideHeight * x.RowStride + left * tile.PixelStep;
                    long pixel = (long)i * oh1 * ow1 + top * ow1 + left; // the tile's first pixel in the chunk's output
                    float* y0 = y + pixel * filters;
                    int* bits = reluBits == null ? null : reluBits + pixel * groups;
                    for (int f = 0; f < filters; f += 32)
                        Tile(tile, a, w + f, bias + f, y0 + f, y0 + ow1 * filters + f, null, 0, 0, bits == null ? null : bits + f / 32, ow1 * groups);
                }
            }
        }
    }

    /// <summary>
    /// y[images×PH×PW×F] = maxpool2×2(act(x∗w + b)), and argmax (when not null) as described above: each 2×2 tile of
    /// pixels is pooled in registers, so the convolution's output never exists (<see cref="PoolApplies"/> must hold).
    /// </summary>
    public static void ForwardMaxPool(DirectConv.Source x, int images, in ConvGeometry g, float* w, float* bias, int filters, bool relu,
        float* y, int* argmax, in ConvGeometry pool)
    {
        int ph1 = pool.OutputHeight, pw1 = pool.OutputWidth, pooledSize = ph1 * pw1 * filters;
        var tile = new TileShape(g, x.RowStride, filters, relu);
        for (int i = 0; i < images; i++)
        {
            float* image = x.Images + (long)i * x.ImageStride;
            long pooledImage = (long)i * pooledSize;
            for (int ph = 0; ph < ph1; ph++)
            {
                for (int pw = 0; pw < pw1; pw += 2)
                {
                    int top = 2 * ph, left = 2 * pw;
                    float* a = image + (long)top * g.StrideHeight * x.RowStride + left * tile.PixelStep;
                    long o = pooledImage + (long)(ph * pw1 + pw) * filters;
                    int index = (top * g.OutputWidth + left) * filters; // position of the tile's first pixel in the conv output
                    for (int f = 0; f < filters; f += 32)
                    {
                        int* pooledArgmax = argmax == null ? null : argmax + o + f;
                        if (pw + 1 < pw1)
                            Tile(tile, a, w + f, bias + f, y + o + f, null, pooledArgmax, index + f, g.OutputWidth * filters);
                        else // an odd PW: the last window alone, not a pair moved back over one already pooled
                            WindowTile(tile, a, w + f, bias + f, y + o + f, pooledArgmax, index + f, g.OutputWidth * filters);
                    }
                }
            }
        }
    }

    /// <summary>The constants of every tile of one convolution.</summary>
    private readonly struct TileShape(in ConvGeometry g, int rowStride, int filters, bool relu)
    {
        public readonly int KernelHeight = g.KernelHeight, Run = g.KernelWidth * g.Channels, Filters = filters;
        /// <summary>Ints of ReLU bits per pixel: one per 32 filters.</summary>
        public readonly int Groups = filters / 32;
        /// <summary>P = KH·KW·C, and the im2col GEMM's K slab over its P + 1 columns (see <see cref="SlabTile"/>): the whole
        /// K at 32 filters (one B panel: <see cref="Gemm.SinglePanelSlab"/>), else KC.</summary>
        public readonly int Patch = g.KernelHeight * g.KernelWidth * g.Channels,
            Slab = Gemm.SinglePanelSlab(false, filters, g.KernelHeight * g.KernelWidth * g.Channels + 1);
        /// <summary>Floats between the two output rows' image rows, and between two neighbouring pixels' patches.</summary>
        public readonly int RowStep = g.StrideHeight * rowStride, PixelStep = g.StrideWidth * g.Channels;
        /// <summary>Floats between kernel rows kh and kh + 1 in the image.</summary>
        public readonly int KernelRowStep = rowStride;
        public readonly bool Relu = relu;
    }

    /// <summary>
    /// One 2×4-pixel × 32-filter tile: the accumulation, then bias and activation, then either the plain store (rows to
    /// <paramref name="y0"/> and <paramref name="y1"/>) or, when <paramref name="y1"/> is null, the 2×2 pooling of pixel
    /// pairs (0, 1) and (2, 3) to <paramref name="y0"/> (two pooled pixels, F apart) with their argmax. Plain, with
    /// <paramref name="bits"/>, also the 8 pixels' ReLU bits (<see cref="ReluBits"/>): an int a pixel, pixels
    /// <see cref="TileShape.Groups"/> ints apart, the second row <paramref name="bitsRowStep"/> ints after the first.
    /// </summary>
    private static void Tile(in TileShape t, float* a, float* w, float* bias, float* y0, float* y1, int* argmax, int index, int indexRowStep,
        int* bits = null, int bitsRowStep = 0)
    {
        if (t.Patch > t.Slab)
        {
            SlabTile(t, a, w, bias, y0, y1, argmax, index, indexRowStep, pixels: 4);
            if (bits != null) // from the 8 pixels' outputs just stored (in L1)
                for (int j = 0; j < 4; j++)
                {
                    bits[j * t.Groups] = ReluBits.Of(y0 + j * t.Filters);
                    bits[bitsRowStep + j * t.Groups] = ReluBits.Of(y1 + j * t.Filters);
                }
            return;
        }
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;  // row 0, pixels 0 and 1; halves 0 and 1
        Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;  // row 0, pixels 2 and 3
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default;  // row 1, pixels 0 and 1
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default;  // row 1, pixels 2 and 3
        nint s1 = t.PixelStep, s2 = 2 * s1, s3 = 3 * s1, ldw = t.Filters; // native ints: base + index·4 addresses, no arithmetic in the loop
        int run = t.Run, rowStep = t.RowStep;
        for (int kh = 0; kh < t.KernelHeight; kh++)
        {
            // This kernel row's patch runs: pixel j of output row r starts at a0 + r·rowStep + j·s1.
            float* a0 = a + (long)kh * t.KernelRowStep, a1 = a0 + rowStep;
            for (float* end = a0 + run; a0 < end; a0++, a1++, w += ldw)
            {
                Vector512<float> b0 = Vector512.Load(w);
                Vector512<float> b1 = Vector512.Load(w + 16);
                Vector512<float> ai = Vector512.Create(*a0);
                c00 = Vector512.FusedMultiplyAdd(ai, b0, c00); c01 = Vector512.FusedMultiplyAdd(ai, b1, c01);
                ai = Vector512.Create(a0[s1]);
                c10 = Vector512.FusedMultiplyAdd(ai, b0, c10); c11 = Vector512.FusedMultiplyAdd(ai, b1, c11);
                ai = Vector512.Create(a0[s2]);
                c20 = Vector512.FusedMultiplyAdd(ai, b0, c20); c21 = Vector512.FusedMultiplyAdd(ai, b1, c21);
                ai = Vector512.Create(a0[s3]);
                c30 = Vector512.FusedMultiplyAdd(ai, b0, c30); c31 = Vector512.FusedMultiplyAdd(ai, b1, c31);
                ai = Vector512.Create(*a1);
                c40 = Vector512.FusedMultiplyAdd(ai, b0, c40); c41 = Vector512.FusedMultiplyAdd(ai, b1, c41);
                ai = Vector512.Create(a1[s1]);
                c50 = Vector512.FusedMultiplyAdd(ai, b0, c50); c51 = Vector512.FusedMultiplyAdd(ai, b1, c51);
                ai = Vector512.Create(a1[s2]);
                c60 = Vector512.FusedMultiplyAdd(ai, b0, c60); c61 = Vector512.FusedMultiplyAdd(ai, b1, c61);
                ai = Vector512.Create(a1[s3]);
                c70 = Vector512.FusedMultiplyAdd(ai, b0, c70); c71 = Vector512.FusedMultiplyAdd(ai, b1, c71);
            }
        }
        // The bias last, as the im2col path's ones column (p = P): fma(1, b, c) is c + b, rounded once.
        Vector512<float> bias0 = Vector512.Load(bias), bias1 = Vector512.Load(bias + 16);
        c00 = Act(c00 + bias0, t.Relu); c01 = Act(c01 + bias1, t.Relu); c10 = Act(c10 + bias0, t.Relu); c11 = Act(c11 + bias1, t.Relu);
        c20 = Act(c20 + bias0, t.Relu); c21 = Act(c21 + bias1, t.Relu); c30 = Act(c30 + bias0, t.Relu); c31 = Act(c31 + bias1, t.Relu);
        c40 = Act(c40 + bias0, t.Relu); c41 = Act(c41 + bias1, t.Relu); c50 = Act(c50 + bias0, t.Relu); c51 = Act(c51 + bias1, t.Relu);
        c60 = Act(c60 + bias0, t.Relu); c61 = Act(c61 + bias1, t.Relu); c70 = Act(c70 + bias0, t.Relu); c71 = Act(c71 + bias1, t.Relu);
        int f = t.Filters;
        if (y1 != null)
        {
            c00.Store(y0); c01.Store(y0 + 16); c10.Store(y0 + f); c11.Store(y0 + f + 16);
            c20.Store(y0 + 2 * f); c21.Store(y0 + 2 * f + 16); c30.Store(y0 + 3 * f); c31.Store(y0 + 3 * f + 16);
            c40.Store(y1); c41.Store(y1 + 16); c50.Store(y1 + f); c51.Store(y1 + f + 16);
            c60.Store(y1 + 2 * f); c61.Store(y1 + 2 * f + 16); c70.Store(y1 + 3 * f); c71.Store(y1 + 3 * f + 16);
            if (bits != null) // the ReLU's derivative, from the registers
            {
                int s = t.Groups;
                bits[0] = ReluBits.Of(c00, c01); bits[s] = ReluBits.Of(c10, c11); bits[2 * s] = ReluBits.Of(c20, c21); bits[3 * s] = ReluBits.Of(c30, c31);
                bits += bitsRowStep;
                bits[0] = ReluBits.Of(c40, c41); bits[s] = ReluBits.Of(c50, c51); bits[2 * s] = ReluBits.Of(c60, c61); bits[3 * s] = ReluBits.Of(c70, c71);
            }
            return;
        }
        // Pooled: window (pixels 0, 1 of rows 0, 1) and window (pixels 2, 3), each half of the 32 filters on its own.
        Vector512<int> right = Vector512.Create(f), below = Vector512.Create(indexRowStep), diagonal = right + below; // (see Pool)
        Pool(c00, c10, c40, c50, y0, argmax, index, right, below, diagonal, t.Relu);
        Pool(c01, c11, c41, c51, y0 + 16, argmax == null ? null : argmax + 16, index + 16, right, below, diagonal, t.Relu);
        Pool(c20, c30, c60, c70, y0 + f, argmax == null ? null : argmax + f, index + 2 * f, right, below, diagonal, t.Relu);
        Pool(c21, c31, c61, c71, y0 + f + 16, argmax == null ? null : argmax + f + 16, index + 2 * f + 16, right, below, diagonal, t.Relu);
    }

    /// <summary>
    /// One 2×2-pixel × 32-filter tile, pooled: <see cref="Tile"/>'s pixels 0 and 1 of both rows alone (8 accumulators), the
    /// same chains, for the last window of an odd pooled width (with PW = 15 the pair tile recomputed one window in 15).
    /// </summary>
    private static void WindowTile(in TileShape t, float* a, float* w, float* bias, float* y, int* argmax, int index, int indexRowStep)
    {
        if (t.Patch > t.Slab)
        {
            SlabTile(t, a, w, bias, y, null, argmax, index, indexRowStep, pixels: 2);
            return;
        }
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;  // row 0, pixels 0 and 1; halves 0 and 1
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default;  // row 1, pixels 0 and 1
        nint s1 = t.PixelStep, ldw = t.Filters;
        int run = t.Run, rowStep = t.RowStep;
        for (int kh = 0; kh < t.KernelHeight; kh++)
        {
            float* a0 = a + (long)kh * t.KernelRowStep, a1 = a0 + rowStep;
            for (float* end = a0 + run; a0 < end; a0++, a1++, w += ldw)
            {
                Vector512<float> b0 = Vector512.Load(w);
                Vector512<float> b1 = Vector512.Load(w + 16);
                Vector512<float> ai = Vector512.Create(*a0);
                c00 = Vector512.FusedMultiplyAdd(ai, b0, c00); c01 = Vector512.FusedMultiplyAdd(ai, b1, c01);
                ai = Vector512.Create(a0[s1]);
                c10 = Vector512.FusedMultiplyAdd(ai, b0, c10); c11 = Vector512.FusedMultiplyAdd(ai, b1, c11);
                ai = Vector512.Create(*a1);
                c40 = Vector512.FusedMultiplyAdd(ai, b0, c40); c41 = Vector512.FusedMultiplyAdd(ai, b1, c41);
                ai = Vector512.Create(a1[s1]);
                c50 = Vector512.FusedMultiplyAdd(ai, b0, c50); c51 = Vector512.FusedMultiplyAdd(ai, b1, c51);
            }
        }
        Vector512<float> bias0 = Vector512.Load(bias), bias1 = Vector512.Load(bias + 16);
        c00 = Act(c00 + bias0, t.Relu); c01 = Act(c01 + bias1, t.Relu); c10 = Act(c10 + bias0, t.Relu); c11 = Act(c11 + bias1, t.Relu);
        c40 = Act(c40 + bias0, t.Relu); c41 = Act(c41 + bias1, t.Relu); c50 = Act(c50 + bias0, t.Relu); c51 = Act(c51 + bias1, t.Relu);
        int f = t.Filters;
        Vector512<int> right = Vector512.Create(f), below = Vector512.Create(indexRowStep), diagonal = right + below; // (see Pool)
        Pool(c00, c10, c40, c50, y, argmax, index, right, below, diagonal, t.Relu);
        Pool(c01, c11, c41, c51, y + 16, argmax == null ? null : argmax + 16, index + 16, right, below, diagonal, t.Relu);
    }

    /// <summary>
    /// <see cref="Tile"/> (4 pixels a row) or <see cref="WindowTile"/> (2) for a patch longer than the GEMM's K slab, in the
    /// im2col path's grouping so that the bits stay its own: that GEMM sums K = P + 1 (the ones column last) in slabs of
    /// KC, each from zero, added to C in order, C = ((s₀ + s₁) + …) + s_last. Each slab here is one
    /// <see cref="SlabChain4"/> call (its accumulators in registers), folded into a total in L1; the ones column is the
    /// bias added at the end of the last slab's chain, or a slab of its own when P is a multiple of KC.
    /// </summary>
    private static void SlabTile(in TileShape t, float* a, float* w, float* bias, float* y0, float* y1, int* argmax, int index,
        int indexRowStep, int pixels)
    {
        // Pixel j of output row r at (r·4 + j)·32, its 32 filters; from a cache line (CacheLineAlignment).
        float* totalStorage = stackalloc float[8 * 32 + CacheLineAlignment.SlackFloats];
        float* total = CacheLineAlignment.Align(totalStorage);
        bool ownSlab = t.Patch % t.Slab == 0;
        for (int p0 = 0; p0 < t.Patch; p0 += t.Slab)
        {
            int p1 = Math.Min(p0 + t.Slab, t.Patch);
            float* slabBias = p1 == t.Patch && !ownSlab ? bias : null;
            if (pixels == 4)
                SlabChain4(t, a, w, p0, p1, slabBias, total, add: p0 > 0);
            else
                SlabChain2(t, a, w, p0, p1, slabBias, total, add: p0 > 0);
        }
        Vector512<float> bias0 = Vector512.Load(bias), bias1 = Vector512.Load(bias + 16);
        bool relu = t.Relu;
        Vector512<float> Sum(int rowPixel, int half)
        {
            Vector512<float> v = Vector512.Load(total + rowPixel * 32 + half * 16);
            return Act(ownSlab ? v + (half == 0 ? bias0 : bias1) : v, relu); // the ones column's own slab: C + (0 + 1·b)
        }
        int f = t.Filters;
        if (y1 != null) // plain stores (4 pixels a row only: the 2-pixel tile is always pooled)
        {
            for (int j = 0; j < 4; j++)
            {
                Sum(j, 0).Store(y0 + j * f); Sum(j, 1).Store(y0 + j * f + 16);
                Sum(4 + j, 0).Store(y1 + j * f); Sum(4 + j, 1).Store(y1 + j * f + 16);
            }
            return;
        }
        // Pooled: the window of pixels 0, 1 of both rows, then (4 pixels a row) that of pixels 2, 3.
        Vector512<int> right = Vector512.Create(f), below = Vector512.Create(indexRowStep), diagonal = right + below; // (see Pool)
        Pool(Sum(0, 0), Sum(1, 0), Sum(4, 0), Sum(5, 0), y0, argmax, index, right, below, diagonal, t.Relu);
        Pool(Sum(0, 1), Sum(1, 1), Sum(4, 1), Sum(5, 1), y0 + 16, argmax == null ? null : argmax + 16, index + 16, right, below, diagonal, t.Relu);
        if (pixels == 2)
            return;
        Pool(Sum(2, 0), Sum(3, 0), Sum(6, 0), Sum(7, 0), y0 + f, argmax == null ? null : argmax + f, index + 2 * f, right, below, diagonal, t.Relu);
        Pool(Sum(2, 1), Sum(3, 1), Sum(6, 1), Sum(7, 1), y0 + f + 16, argmax == null ? null : argmax + f + 16, index + 2 * f + 16, right, below, diagonal, t.Relu);
    }

    /// <summary>
    /// One K slab, patch positions p0..p1 (p = kh·run + k), of the 2×4-pixel tile: the chains from zero, the bias at
    /// the end when given (the ones column in this slab), then stored into <paramref name="total"/> or added to it.
    /// </summary>
    /// <remarks>
    /// The loop body repeats <see cref="Tile"/>'s on purpose: the 16 accumulators must stay in registers, as locals of
    /// one method with nothing else live across the loop (folded inside Tile's own loop, the JIT kept them on the stack:
    /// 36% slower; a helper taking them by reference would make them address-taken), and Tile keeps its single-slab
    /// path free of the fold's store and reload (the stems).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SlabChain4(in TileShape t, float* a, float* w, int p0, int p1, float* bias, float* total, bool add)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        nint s1 = t.PixelStep, s2 = 2 * s1, s3 = 3 * s1, ldw = t.Filters; // native ints: base + index·4 addresses, no arithmetic in the loop
        int run = t.Run, rowStep = t.RowStep;
        for (int p = p0; p < p1;)
        {
            int kh = p / run, k = p - kh * run, end = Math.Min(run, p1 - kh * run);
            float* a0 = a + (long)kh * t.KernelRowStep + k, a1 = a0 + rowStep, wp = w + p * ldw;
            for (float* stop = a0 + (end - k); a0 < stop; a0++, a1++, wp += ldw)
            {
                Vector512<float> b0 = Vector512.Load(wp);
                Vector512<float> b1 = Vector512.Load(wp + 16);
                Vector512<float> ai = Vector512.Create(*a0);
                c00 = Vector512.FusedMultiplyAdd(ai, b0, c00); c01 = Vector512.FusedMultiplyAdd(ai, b1, c01);
                ai = Vector512.Create(a0[s1]);
                c10 = Vector512.FusedMultiplyAdd(ai, b0, c10); c11 = Vector512.FusedMultiplyAdd(ai, b1, c11);
                ai = Vector512.Create(a0[s2]);
                c20 = Vector512.FusedMultiplyAdd(ai, b0, c20); c21 = Vector512.FusedMultiplyAdd(ai, b1, c21);
                ai = Vector512.Create(a0[s3]);
                c30 = Vector512.FusedMultiplyAdd(ai, b0, c30); c31 = Vector512.FusedMultiplyAdd(ai, b1, c31);
                ai = Vector512.Create(*a1);
                c40 = Vector512.FusedMultiplyAdd(ai, b0, c40); c41 = Vector512.FusedMultiplyAdd(ai, b1, c41);
                ai = Vector512.Create(a1[s1]);
                c50 = Vector512.FusedMultiplyAdd(ai, b0, c50); c51 = Vector512.FusedMultiplyAdd(ai, b1, c51);
                ai = Vector512.Create(a1[s2]);
                c60 = Vector512.FusedMultiplyAdd(ai, b0, c60); c61 = Vector512.FusedMultiplyAdd(ai, b1, c61);
                ai = Vector512.Create(a1[s3]);
                c70 = Vector512.FusedMultiplyAdd(ai, b0, c70); c71 = Vector512.FusedMultiplyAdd(ai, b1, c71);
            }
            p = kh * run + end;
        }
        Fold(total, 0, c00, c01, bias, add); Fold(total, 1, c10, c11, bias, add); Fold(total, 2, c20, c21, bias, add); Fold(total, 3, c30, c31, bias, add);
        Fold(total, 4, c40, c41, bias, add); Fold(total, 5, c50, c51, bias, add); Fold(total, 6, c60, c61, bias, add); Fold(total, 7, c70, c71, bias, add);
    }

    /// <summary><see cref="SlabChain4"/> for pixels 0 and 1 of both rows (<see cref="WindowTile"/>'s 8 accumulators).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SlabChain2(in TileShape t, float* a, float* w, int p0, int p1, float* bias, float* total, bool add)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        nint s1 = t.PixelStep, ldw = t.Filters;
        int run = t.Run, rowStep = t.RowStep;
        for (int p = p0; p < p1;)
        {
            int kh = p / run, k = p - kh * run, end = Math.Min(run, p1 - kh * run);
            float* a0 = a + (long)kh * t.KernelRowStep + k, a1 = a0 + rowStep, wp = w + p * ldw;
            for (float* stop = a0 + (end - k); a0 < stop; a0++, a1++, wp += ldw)
            {
                Vector512<float> b0 = Vector512.Load(wp);
                Vector512<float> b1 = Vector512.Load(wp + 16);
                Vector512<float> ai = Vector512.Create(*a0);
                c00 = Vector512.FusedMultiplyAdd(ai, b0, c00); c01 = Vector512.FusedMultiplyAdd(ai, b1, c01);
                ai = Vector512.Create(a0[s1]);
                c10 = Vector512.FusedMultiplyAdd(ai, b0, c10); c11 = Vector512.FusedMultiplyAdd(ai, b1, c11);
                ai = Vector512.Create(*a1);
                c40 = Vector512.FusedMultiplyAdd(ai, b0, c40); c41 = Vector512.FusedMultiplyAdd(ai, b1, c41);
                ai = Vector512.Create(a1[s1]);
                c50 = Vector512.FusedMultiplyAdd(ai, b0, c50); c51 = Vector512.FusedMultiplyAdd(ai, b1, c51);
            }
            p = kh * run + end;
        }
        Fold(total, 0, c00, c01, bias, add); Fold(total, 1, c10, c11, bias, add);
        Fold(total, 4, c40, c41, bias, add); Fold(total, 5, c50, c51, bias, add);
    }

    /// <summary>A pixel's 32 slab sums (+ the bias when given: fma(1, b, c) = c + b) into the total, or added to it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Fold(float* total, int rowPixel, Vector512<float> low, Vector512<float> high, float* bias, bool add)
    {
        float* at = total + rowPixel * 32;
        if (bias != null)
        {
            low += Vector512.Load(bias);
            high += Vector512.Load(bias + 16);
        }
        if (add)
        {
            low = Vector512.Load(at) + low;
            high = Vector512.Load(at + 16) + high;
        }
        low.Store(at);
        high.Store(at + 16);
    }

    /// <summary>ReLU as <see cref="ActivationKernels.ReluForward"/> computes it (max(v, 0), element by element), or the identity.</summary>
    /// <remarks>One <c>vmaxps</c> with v second, which x86 returns when either operand is NaN, so a NaN stays NaN; the
    /// IEEE <c>Vector512.Max</c> adds a <c>vfixupimmps</c> (16 a tile) only to order −0 below +0, and a sum here is never
    /// −0: every chain starts from +0, and a sum of two zeros is −0 only when both are.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Act(Vector512<float> v, bool relu) => relu ? Avx512F.Max(Vector512<float>.Zero, v) : v;

    /// <summary>
    /// One 2×2 window of 16 filters: top-left <paramref name="a"/>, top-right <paramref name="b"/>, bottom-left
    /// <paramref name="d"/>, bottom-right <paramref name="e"/>, chosen in that order by the rule of
    /// <see cref="MaxPoolKernels"/> (the first maximum wins ties, NaN propagates), so maxima and indices are its own; with
    /// the ReLU, a window whose maximum is not &gt; 0 records <see cref="Conv2DKernels.ZeroedWindow"/> instead of its index.
    /// </summary>
    /// <remarks>In a pooled tile this runs four times beside 432 FMAs on the same two 512-bit ports, so it is written
    /// for few instructions: each candidate's test is two compares into a mask register (<see cref="MaxPoolKernels.Takes(Vector512{float}, Vector512{float})"/>), and the
    /// maximum and the index move under that mask; where the window's other outputs lie from its first, a pixel to the right
    /// (<paramref name="right"/>: F), a row below (<paramref name="below"/>) and both (<paramref name="diagonal"/>), come
    /// in as vectors made once a tile (as a struct or a tuple of vectors the JIT kept them on the stack, and the tile's
    /// accumulators with them).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Pool(Vector512<float> a, Vector512<float> b, Vector512<float> d, Vector512<float> e, float* y, int* argmax,
        int index, Vector512<int> right, Vector512<int> below, Vector512<int> diagonal, bool relu)
    {
        Vector512<float> best = a;
        Vector512<float> takesB = MaxPoolKernels.Takes(b, best);
        best = Vector512.ConditionalSelect(takesB, b, best);
        Vector512<float> takesD = MaxPoolKernels.Takes(d, best);
        best = Vector512.ConditionalSelect(takesD, d, best);
        Vector512<float> takesE = MaxPoolKernels.Takes(e, best);
        best = Vector512.ConditionalSelect(takesE, e, best);
        best.Store(y);
        if (argmax == null) // inference: no index
            return;
        Vector512<int> lanes = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) + Vector512.Create(index);
        Vector512<int> winner = lanes;
        winner = Vector512.ConditionalSelect(takesB.AsInt32(), lanes + right, winner);
        winner = Vector512.ConditionalSelect(takesD.AsInt32(), lanes + below, winner);
        winner = Vector512.ConditionalSelect(takesE.AsInt32(), lanes + diagonal, winner);
        if (relu)
            winner = Vector512.ConditionalSelect(Avx512F.CompareGreaterThan(best, Vector512<float>.Zero).AsInt32(), winner,
                Vector512.Create(Conv2DKernels.ZeroedWindow));
        winner.Store(argmax);
    }
}
