using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NanoNet.Kernels;

/// <summary>
/// The direct convolution's forward on AVX2 + FMA machines (no AVX-512): x∗w + b for a chunk of images, a tile of 6
/// output pixels of one row × 16 filters at a time, the patches read where they lie in the images (see
/// <see cref="DirectConv"/>) instead of copied into an im2col matrix and packed again by the GEMM.
/// </summary>
/// <remarks>
/// <para>Shape legend: the source images are Hp×Wp×C (<see cref="DirectConv.Source"/>); w is (KH, KW, C, F) = P×F,
/// P = KH·KW·C, run = KW·C; bias is F; y is images×OH×OW×F, act(x∗w + b) with act the identity or the ReLU.</para>
/// <para>The tile: output row oh, pixels ow..ow+5, filters f..f+15, in 12 Vector256 accumulators — the GEMM's 6×16
/// micro-kernel with its 6 rows of A being 6 neighbouring pixels of the image, sw·C floats apart. For each
/// p = kh·run + q it loads w[p, f..f+16) as two vectors and broadcasts the 6 pixels' x[oh·sh + kh, ow·sw + q].
/// The rest of a row runs in 4-pixel tiles (8 accumulators), the last moved back to end at the row's end (the same values
/// again): see <see cref="Row"/>.</para>
/// <para>Bitwise the im2col path: that GEMM (6×16 kernel) sums each output over the P + 1 columns of its im2col row (the
/// last the ones column, times the bias) in <see cref="Gemm.KC"/>-deep slabs, each a chain of FMAs from zero in order,
/// the first slab stored and the others added to it. The tile runs the same chains in the same slabs, the bias as
/// c + b (= fma(1, b, c)), so the outputs are the same bits (<c>DirectConvTests</c>). The ReLU is applied in registers
/// after the last slab as max(0, v) (vmaxps returns v when it is NaN, as the im2col path's IEEE max does; a sum from +0
/// is never −0), instead of a pass over the output after it.</para>
/// <para>Why: on a Zen 3 core the im2col path ran the Keras 32-channel layer's forward at 38% of the FMA peak and the
/// 3-channel stem's at 32%, against 71% for the same layer's weight gradient: the im2col matrix (9x the image) is
/// written, packed and read back for every chunk (benchmarks/README.md, forty-first sitting).</para>
/// </remarks>
internal static unsafe class DirectConvForward256
{
    /// <summary>Off only in tests and benchmarks, to compare against the im2col path.</summary>
    internal static bool Enabled = true;

    /// <summary>Whether this kernel takes the convolution: the 6×16 GEMM kernel is the machine's (AVX2 + FMA, no
    /// AVX-512), F a multiple of 16, no dilation, at least 6 output pixels a row.</summary>
    public static bool Applies(in ConvGeometry g, int filters) =>
        Enabled && Gemm.BestKernel == GemmKernelKind.Vector256 && Fma.IsSupported && Avx2.IsSupported
        && filters > 0 && filters % 16 == 0 && g.DilationHeight == 1 && g.DilationWidth == 1 && g.OutputWidth >= 6;

    /// <summary>y[images×OH×OW×F] = act(x∗w + b), act the ReLU when <paramref name="relu"/> (<see cref="Applies"/> must hold),
    /// and, when <paramref name="reluBits"/> is not null (F a multiple of 32), the ReLU's derivative as bits
    /// (images×OH×OW×F/32 ints, <see cref="ReluBits"/>), from the registers: a byte per 8 outputs, in the int's order.</summary>
    public static void Forward(DirectConv.Source x, int images, in ConvGeometry g, float* w, float* bias, int filters, bool relu, float* y,
        int* reluBits = null)
    {
        int oh1 = g.OutputHeight, ow1 = g.OutputWidth, groups = filters / 32;
        var shape = new TileShape(g.KernelHeight, g.KernelWidth * g.Channels, filters, x.RowStride, g.StrideWidth * g.Channels, relu);
        for (int i = 0; i < images; i++)
        {
            float* image = x.Images + (long)i * x.ImageStride;
            for (int oh = 0; oh < oh1; oh++)
            {
                long pixel = ((long)i * oh1 + oh) * ow1;
                Row(shape, image + (long)oh * g.StrideHeight * x.RowStride, ow1, w, bias, y + pixel * filters,
                    reluBits == null ? null : (byte*)(reluBits + pixel * groups));
            }
        }
    }

    /// <summary>
    /// y[images×PH×PW×F] = maxpool2×2(act(x∗w + b)), and argmax (when not null) as <see cref="DirectConvForward.ForwardMaxPool"/>
    /// records it (each maximum's position in its image's convolution output, or <see cref="Conv2DKernels.ZeroedWindow"/>
    /// with the ReLU where the maximum is not &gt; 0). A patch within one K slab (the stems) pools each window in registers
    /// (<see cref="ForwardMaxPoolInRegisters"/>); a longer one computes the two convolution rows a pooled row needs into
    /// <paramref name="rowPair"/> (2·OW·F floats, so they stay in L1) and pools them from there, instead of the chunk's
    /// whole output written to L2 and read back by a pooling pass (<see cref="DirectConvForward.PoolApplies"/> must hold).
    /// The same values, pooled by the same rule: the separate passes' bits and indices.
    /// </summary>
    public static void ForwardMaxPool(DirectConv.Source x, int images, in ConvGeometry g, float* w, float* bias, int filters, bool relu,
        float* rowPair, float* y, int* argmax, in ConvGeometry pool)
    {
        int ow1 = g.OutputWidth, ph1 = pool.OutputHeight, pw1 = pool.OutputWidth, rowFloats = ow1 * filters;
        long pooledSize = (long)ph1 * pw1 * filters;
        var shape = new TileShape(g.KernelHeight, g.KernelWidth * g.Channels, filters, x.RowStride, g.StrideWidth * g.Channels, relu);
        if (PoolsInRegisters && shape.Patch + 1 <= Gemm.KC)
        {
            ForwardMaxPoolInRegisters(shape, x, images, g, w, bias, y, argmax, pool);
            return;
        }
        for (int i = 0; i < images; i++)
        {
            float* image = x.Images + (long)i * x.ImageStride;
            for (int ph = 0; ph < ph1; ph++)
            {
                int oh = 2 * ph;
                Row(shape, image + (long)oh * g.StrideHeight * x.RowStride, ow1, w, bias, rowPair);
                Row(shape, image + (long)(oh + 1) * g.StrideHeight * x.RowStride, ow1, w, bias, rowPair + rowFloats);
                long o = i * pooledSize + (long)ph * pw1 * filters;
                PoolRowPair(rowPair, rowFloats, filters, pw1, y + o, argmax == null ? null : argmax + o, oh * rowFloats, relu);
            }
        }
    }

    /// <summary>Off only in tests and benchmarks: the pooled forward through <see cref="ForwardMaxPool"/>'s row pair even
    /// where <see cref="ForwardMaxPoolInRegisters"/> applies.</summary>
    internal static bool PoolsInRegisters = true;

    /// <summary>
    /// <see cref="ForwardMaxPool"/> for a patch within one K slab (P + 1 ≤ <see cref="Gemm.KC"/>: the stems): each 2×2
    /// window × 16 filters is a tile of its own (<see cref="WindowTile"/>), pooled in registers, so the convolution's
    /// output is never stored and read back. Only the ⌊OH/2⌋·⌊OW/2⌋ windows' pixels are computed.
    /// </summary>
    private static void ForwardMaxPoolInRegisters(in TileShape shape, DirectConv.Source x, int images, in ConvGeometry g, float* w, float* bias,
        float* y, int* argmax, in ConvGeometry pool)
    {
        int filters = shape.Filters, ph1 = pool.OutputHeight, pw1 = pool.OutputWidth, rowFloats = g.OutputWidth * filters;
        long pooledSize = (long)ph1 * pw1 * filters;
        nint rowStep = (nint)g.StrideHeight * x.RowStride, windowStep = 2 * shape.PixelStep;
        Vector256<int> right = Vector256.Create(filters), below = Vector256.Create(rowFloats);
        for (int i = 0; i < images; i++)
        {
            float* image = x.Images + (long)i * x.ImageStride;
            for (int ph = 0; ph < ph1; ph++)
            {
                float* top = image + 2 * ph * rowStep;
                long o = i * pooledSize + (long)ph * pw1 * filters;
                int index = 2 * ph * rowFloats; // the window row's first output in the image's convolution output
                for (int pw = 0; pw < pw1; pw++)
                {
                    long op = o + (long)pw * filters;
                    for (int f = 0; f < filters; f += 16)
                        WindowTile(shape, top + pw * windowStep, rowStep, w + f, bias + f, y + op + f, argmax == null ? null : argmax + op + f,
                            index + 2 * pw * filters + f, right, below);
                }
            }
        }
    }

    /// <summary>
    /// One 2×2-pixel × 16-filter tile, pooled: output rows oh, oh + 1 (<paramref name="rowStep"/> floats apart in the
    /// image), pixels ow, ow + 1, in 8 accumulators — each the chain <see cref="Tile"/> runs for that output (from zero
    /// over p in order, then + b, then the ReLU), so the same bits — then the two 8-filter windows chosen by
    /// <see cref="MaxPoolKernels.Window2x2"/>, straight from the registers.
    /// </summary>
    /// <remarks>8 independent chains are just enough for two FMA pipes at a 4-cycle latency; each p loads w once for
    /// 4 broadcasts and 8 FMAs (the 6×16 tile: 6 and 12).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WindowTile(in TileShape t, float* a, nint rowStep, float* w, float* bias, float* y, int* argmax, int index,
        Vector256<int> right, Vector256<int> below)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default; // row 0, pixels 0 and 1; filters 0–7 and 8–15
        Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default; // row 1, pixels 0 and 1
        nint s1 = t.PixelStep, r1 = rowStep + s1, ldw = t.Filters;
        int run = t.Run;
        for (int kh = 0; kh < t.KernelHeight; kh++)
        {
            float* a0 = a + (long)kh * t.KernelRowStep;
            for (float* end = a0 + run; a0 < end; a0++, w += ldw)
            {
                Vector256<float> b0 = Vector256.Load(w);
                Vector256<float> b1 = Vector256.Load(w + 8);
                Vector256<float> ai = Vector256.Create(*a0);
                c00 = Vector256.FusedMultiplyAdd(ai, b0, c00); c01 = Vector256.FusedMultiplyAdd(ai, b1, c01);
                ai = Vector256.Create(a0[s1]);
                c10 = Vector256.FusedMultiplyAdd(ai, b0, c10); c11 = Vector256.FusedMultiplyAdd(ai, b1, c11);
                ai = Vector256.Create(a0[rowStep]);
                c20 = Vector256.FusedMultiplyAdd(ai, b0, c20); c21 = Vector256.FusedMultiplyAdd(ai, b1, c21);
                ai = Vector256.Create(a0[r1]);
                c30 = Vector256.FusedMultiplyAdd(ai, b0, c30); c31 = Vector256.FusedMultiplyAdd(ai, b1, c31);
            }
        }
        // The ones column last (fma(1, b, c) = c + b), then the ReLU, as Store does.
        Vector256<float> bias0 = Vector256.Load(bias), bias1 = Vector256.Load(bias + 8);
        bool relu = t.Relu;
        c00 = Act(c00 + bias0, relu); c01 = Act(c01 + bias1, relu); c10 = Act(c10 + bias0, relu); c11 = Act(c11 + bias1, relu);
        c20 = Act(c20 + bias0, relu); c21 = Act(c21 + bias1, relu); c30 = Act(c30 + bias0, relu); c31 = Act(c31 + bias1, relu);
        MaxPoolKernels.Window2x2(c00, c10, c20, c30, y, argmax, index, right, below, relu);
        MaxPoolKernels.Window2x2(c01, c11, c21, c31, y + 8, argmax == null ? null : argmax + 8, index + 8, right, below, relu);
    }

    /// <summary>max(0, v) with the ReLU (vmaxps returns v when it is NaN), else v.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Act(Vector256<float> v, bool relu) => relu ? Avx.Max(Vector256<float>.Zero, v) : v;

    /// <summary>
    /// One output row: OW pixels × F filters in 6-pixel tiles, the rest of the row in 4-pixel tiles (the last moved back
    /// to end at the row's end): OW = 32 (the Keras stem) as four 6-pixel tiles and two 4-pixel ones, 32 pixels computed
    /// instead of 36 by six 6-pixel tiles; a rest of 5 as one 6-pixel tile moved back.
    /// </summary>
    private static void Row(in TileShape shape, float* row, int ow1, float* w, float* bias, float* y, byte* bits = null)
    {
        int sixes = ow1 / 6, rest = ow1 % 6;
        if (rest is 1 or 2 && sixes >= 2)
            sixes--; // a rest of 7 or 8: two 4-pixel tiles
        for (int ow = 0; ow < 6 * sixes; ow += 6)
            Tiles<SixPixels>(shape, row, ow, w, bias, y, bits);
        rest = ow1 - 6 * sixes;
        if (rest == 5)
            Tiles<SixPixels>(shape, row, ow1 - 6, w, bias, y, bits);
        else if (rest > 4)
            Tiles<FourPixels>(shape, row, ow1 - 8, w, bias, y, bits);
        if (rest is > 0 and not 5)
            Tiles<FourPixels>(shape, row, ow1 - 4, w, bias, y, bits);
    }

    /// <summary>The tiles of pixels ow.. (<typeparamref name="TPixels"/> of them) for every 16 filters; with
    /// <paramref name="bits"/> (the row's ReLU bits, F/8 bytes a pixel) each tile's two bytes a pixel too.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tiles<TPixels>(in TileShape shape, float* row, int ow, float* w, float* bias, float* y, byte* bits) where TPixels : struct, IPixels
    {
        int filters = shape.Filters;
        float* y0 = y + (long)ow * filters;
        byte* bits0 = bits == null ? null : bits + (long)ow * (filters / 8);
        for (int f = 0; f < filters; f += 16)
            Tile<TPixels>(shape, row + (long)ow * shape.PixelStep, w + f, bias + f, y0 + f, bits0 == null ? null : bits0 + f / 8);
    }

    /// <summary>How many neighbouring pixels a tile computes: 6 (12 accumulators) or 4 (8, still enough independent FMA
    /// chains for two pipes at a 4-cycle latency). A type argument, so each tile is compiled for its own count.</summary>
    private interface IPixels { static abstract int Count { get; } }
    private readonly struct SixPixels : IPixels { public static int Count => 6; }
    private readonly struct FourPixels : IPixels { public static int Count => 4; }

    /// <summary>
    /// The 2×2 windows over two convolution rows (<paramref name="top"/>, the other <paramref name="rowFloats"/> after it),
    /// 8 filters at a time: the maximum by <see cref="MaxPoolKernels"/>' rule (candidates top-left, top-right, bottom-left,
    /// bottom-right; the first maximum wins ties, NaN propagates), and its position in the image's convolution output
    /// (<paramref name="index"/> is the top row's), or <see cref="Conv2DKernels.ZeroedWindow"/> with the ReLU where the
    /// maximum is not &gt; 0 (as the separate passes record it).
    /// </summary>
    private static void PoolRowPair(float* top, int rowFloats, int filters, int pw1, float* y, int* argmax, int index, bool relu)
    {
        Vector256<int> right = Vector256.Create(filters), below = Vector256.Create(rowFloats);
        for (int pw = 0; pw < pw1; pw++)
        {
            int first = 2 * pw * filters; // the window's top-left pixel in the row
            for (int f = 0; f < filters; f += 8)
            {
                float* a = top + first + f;
                MaxPoolKernels.Window2x2(Vector256.Load(a), Vector256.Load(a + filters), Vector256.Load(a + rowFloats), Vector256.Load(a + rowFloats + filters),
                    y + pw * filters + f, argmax == null ? null : argmax + pw * filters + f, index + first + f, right, below, relu);
            }
        }
    }

    /// <summary>The constants of every tile of one convolution.</summary>
    private readonly struct TileShape(int kernelHeight, int run, int filters, int kernelRowStep, int pixelStep, bool relu)
    {
        public readonly bool Relu = relu;
        public readonly int KernelHeight = kernelHeight, Run = run, Filters = filters;
        /// <summary>Floats between kernel rows kh and kh + 1 in the image, and between two neighbouring pixels' patches.</summary>
        public readonly int KernelRowStep = kernelRowStep, PixelStep = pixelStep;
        /// <summary>P = KH·KW·C.</summary>
        public readonly int Patch = kernelHeight * run;
    }

    /// <summary>One 6-pixel (or 4-pixel) × 16-filter tile: per K slab of the im2col GEMM, its chains from zero, stored
    /// (first slab) or added to what is stored.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TPixels>(in TileShape t, float* a, float* w, float* bias, float* y, byte* bits) where TPixels : struct, IPixels
    {
        bool six = TPixels.Count == 6;
        int patch = t.Patch, columns = patch + 1, run = t.Run, ldw = t.Filters, slab = Gemm.KC;
        nint s1 = t.PixelStep, s2 = 2 * s1, s3 = 3 * s1, s4 = 4 * s1, s5 = 5 * s1;
        for (int p0 = 0; p0 < columns; p0 += slab)
        {
            int p1 = Math.Min(p0 + slab, columns);
            Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
            Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
            // Columns p0..p1 − 1 but the ones column: kernel rows kh, runs q (p = kh·run + q).
            int last = Math.Min(p1, patch);
            for (int kh = p0 / run; kh * run < last; kh++)
            {
                int q0 = Math.Max(p0 - kh * run, 0), q1 = Math.Min(run, last - kh * run);
                float* a0 = a + (long)kh * t.KernelRowStep + q0, end = a0 + (q1 - q0);
                float* wp = w + (long)(kh * run + q0) * ldw;
                for (; a0 < end; a0++, wp += ldw)
                {
                    Vector256<float> b0 = Vector256.Load(wp);
                    Vector256<float> b1 = Vector256.Load(wp + 8);
                    Vector256<float> ai = Vector256.Create(*a0);
                    c00 = Vector256.FusedMultiplyAdd(ai, b0, c00); c01 = Vector256.FusedMultiplyAdd(ai, b1, c01);
                    ai = Vector256.Create(a0[s1]);
                    c10 = Vector256.FusedMultiplyAdd(ai, b0, c10); c11 = Vector256.FusedMultiplyAdd(ai, b1, c11);
                    ai = Vector256.Create(a0[s2]);
                    c20 = Vector256.FusedMultiplyAdd(ai, b0, c20); c21 = Vector256.FusedMultiplyAdd(ai, b1, c21);
                    ai = Vector256.Create(a0[s3]);
                    c30 = Vector256.FusedMultiplyAdd(ai, b0, c30); c31 = Vector256.FusedMultiplyAdd(ai, b1, c31);
                    if (six)
                    {
                        ai = Vector256.Create(a0[s4]);
                        c40 = Vector256.FusedMultiplyAdd(ai, b0, c40); c41 = Vector256.FusedMultiplyAdd(ai, b1, c41);
                        ai = Vector256.Create(a0[s5]);
                        c50 = Vector256.FusedMultiplyAdd(ai, b0, c50); c51 = Vector256.FusedMultiplyAdd(ai, b1, c51);
                    }
                }
            }
            if (p1 == columns) // the ones column last: fma(1, b, c) is c + b, rounded once
            {
                Vector256<float> bias0 = Vector256.Load(bias), bias1 = Vector256.Load(bias + 8);
                c00 += bias0; c01 += bias1; c10 += bias0; c11 += bias1; c20 += bias0; c21 += bias1;
                c30 += bias0; c31 += bias1;
                if (six)
                {
                    c40 += bias0; c41 += bias1; c50 += bias0; c51 += bias1;
                }
            }
            // The first slab stored, the others added to it; the ReLU after the last.
            bool add = p0 > 0, relu = p1 == columns && t.Relu;
            int f = t.Filters, fb = f / 8;
            byte* b = relu ? bits : null; // the bits after the last slab
            Store(y, c00, c01, add, relu, b);
            Store(y + f, c10, c11, add, relu, b == null ? null : b + fb);
            Store(y + 2 * f, c20, c21, add, relu, b == null ? null : b + 2 * fb);
            Store(y + 3 * f, c30, c31, add, relu, b == null ? null : b + 3 * fb);
            if (six)
            {
                Store(y + 4 * f, c40, c41, add, relu, b == null ? null : b + 4 * fb);
                Store(y + 5 * f, c50, c51, add, relu, b == null ? null : b + 5 * fb);
            }
        }
    }

    /// <summary>The GEMM kernel's store — the slab's sums, or the slab's sums plus what the earlier slabs stored — then,
    /// when <paramref name="relu"/>, max(0, v) (vmaxps returns v when it is NaN); with <paramref name="bits"/> also
    /// [v &gt; 0] of the 16 outputs as two bytes (<see cref="ReluBits"/>' order: a compare and a sign mask per 8).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* y, Vector256<float> lo, Vector256<float> hi, bool add, bool relu, byte* bits = null)
    {
        if (add)
        {
            lo += Vector256.Load(y);
            hi += Vector256.Load(y + 8);
        }
        if (relu)
        {
            lo = Avx.Max(Vector256<float>.Zero, lo);
            hi = Avx.Max(Vector256<float>.Zero, hi);
        }
        lo.Store(y);
        hi.Store(y + 8);
        if (bits != null)
        {
            bits[0] = (byte)Vector256.GreaterThan(lo, Vector256<float>.Zero).ExtractMostSignificantBits();
            bits[1] = (byte)Vector256.GreaterThan(hi, Vector256<float>.Zero).ExtractMostSignificantBits();
        }
    }
}
