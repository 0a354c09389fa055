using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NanoNet.Kernels;

/// <summary>
/// The forward pass of a 3×3, stride-1 convolution by Winograd's minimal filtering F(2×2, 3×3) (Lavin and Gray, "Fast
/// Algorithms for Convolutional Neural Networks", 2016): each 2×2 block of output pixels costs 16 multiply-adds per
/// (channel, filter) pair instead of the direct method's 36, 2.25x fewer, for a few additions before and after.
/// </summary>
/// <remarks>
/// <para>Shape legend: x is images×H×W×C (NHWC), read through a (possibly zero-bordered) source as in
/// <see cref="DirectConv.Source"/>; w is (3, 3, C, F); y is images×OH×OW×F, or pooled images×⌊OH/2⌋×⌊OW/2⌋×F. A
/// <b>tile</b> is the 2×2 output block at (2·th, 2·tw), read from the 4×4 input block at the same corner of the padded
/// image; tiles run over the images row by row (TH = ⌈OH/2⌉ × TW = ⌈OW/2⌉ per image, or ⌊OH/2⌋ × ⌊OW/2⌋ pooled). An
/// <b>element</b> e = (a, b) is one of the 16 positions of the transformed 4×4 tile.</para>
/// <para>The algorithm, per tile, channel c and filter f, with g the 3×3 kernel and d the 4×4 input block:
/// <code>
/// U = G·g·Gᵀ       G  = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]]          (once per call, for every c, f)
/// V = Bᵀ·d·B       Bᵀ = [[1, 0, −1, 0], [0, 1, 1, 0], [0, −1, 1, 0], [0, 1, 0, −1]]
/// M[e] = Σ_c V[e]·U[e]                                                         (16 independent products over C)
/// Y = Aᵀ·M·A       Aᵀ = [[1, 1, 1, 0], [0, 1, −1, −1]]                          (the 2×2 outputs), then + bias, ReLU
/// </code>
/// Per element the sum over channels is a small GEMM, (tiles × C)·(C × F): 8 tiles at a time against 32 filters, the
/// 8×32 micro-kernel reading V's rows in place (<see cref="GemmMicroKernels.Kernel8x32DirectA"/>), so every product of a
/// block of 8 tiles stays in L1: V (16 × 8 × C), M (16 × 8 × 32), then the output transform.</para>
/// <para>Numerics: not the direct method's chain of FMAs, so not its bits: V, M and Y mix inputs with ±1 coefficients
/// and U halves sums of weights, so each output carries a few more roundings (within about 1e−6 of the output's scale:
/// the tests hold it to <see cref="ConvReference"/> with the tolerance they give the GEMM paths). Results do not depend on
/// the thread count: a tile's arithmetic is the same in any chunk.</para>
/// <para>Pooled (a 2×2, stride-2 max pooling after the convolution): a tile is exactly one pooling window, so the
/// 2×2 outputs are pooled in registers with the argmax of <see cref="MaxPoolKernels"/>, as the direct kernel does
/// (<see cref="DirectConvForward.Pool"/>); a last odd output row or column that no window reads is not computed.</para>
/// </remarks>
internal static unsafe class WinogradConv
{
    /// <summary>Tiles per block (the micro-kernel's rows), filters per panel (its columns), channels per vector.</summary>
    public const int BlockTiles = 8, FilterPanel = 32, ChannelLanes = 16, Elements = 16;

    /// <summary>Off only in tests and benchmarks, to compare with the direct kernel.</summary>
    internal static bool Enabled = true;

    /// <summary>
    /// Whether the Winograd forward takes this convolution: 512-bit vectors, a 3×3 window at stride 1 without dilation,
    /// C a multiple of 16 (whole channel vectors) and F of 32 (whole filter panels), at least one 2×2 tile. A 3-channel
    /// stem stays with the direct kernel (its patch of 27 values is too short to pay for the transforms).
    /// </summary>
    public static bool Applies(in ConvGeometry g, int filters) =>
        Enabled && Vector512.IsHardwareAccelerated && g.KernelHeight == 3 && g.KernelWidth == 3
        && g.StrideHeight == 1 && g.StrideWidth == 1 && g.DilationHeight == 1 && g.DilationWidth == 1
        && g.Channels % ChannelLanes == 0 && filters > 0 && filters % FilterPanel == 0
        && g.OutputHeight >= 2 && g.OutputWidth >= 2;

    /// <summary>Floats of the transformed kernel U: 16 × C × F.</summary>
    public static int TransformedLength(in ConvGeometry g, int filters) => Elements * g.Channels * filters;

    /// <summary>Floats of one worker's block workspace: V (16 × 8 × C) and M (16 × 8 × 32).</summary>
    public static int WorkspaceLength(in ConvGeometry g) => Elements * BlockTiles * (g.Channels + FilterPanel);

    /// <summary>Tiles down and across one image: ⌈OH/2⌉ × ⌈OW/2⌉, or ⌊OH/2⌋ × ⌊OW/2⌋ when pooled.</summary>
    public static (int Down, int Across) Tiles(in ConvGeometry g, bool pooled) => pooled
        ? (g.OutputHeight / 2, g.OutputWidth / 2)
        : ((g.OutputHeight + 1) / 2, (g.OutputWidth + 1) / 2);

    /// <summary>
    /// Whether the images must be copied into a zero-bordered buffer: some tile's 4×4 input block reaches past the image
    /// (the convolution's own padding, or a last half tile of an odd output).
    /// </summary>
    public static bool NeedsPadding(in ConvGeometry g, bool pooled)
    {
        (int down, int across) = Tiles(g, pooled);
        return g.PadTop > 0 || g.PadLeft > 0 || 2 * down + 2 > g.Height || 2 * across + 2 > g.Width;
    }

    /// <summary>Floats of one padded image: (2·TH + 2) × (2·TW + 2) × C.</summary>
    public static int PaddedImageSize(in ConvGeometry g, bool pooled)
    {
        (int down, int across) = Tiles(g, pooled);
        return (2 * down + 2) * (2 * across + 2) * g.Channels;
    }

    /// <summary>
    /// The images as the tiles read them: in place when every 4×4 block lies inside the image, else copied into
    /// <paramref name="buffer"/> (images·<see cref="PaddedImageSize"/> floats) with the convolution's zero border and a
    /// zero row or column after an odd output.
    /// </summary>
    public static DirectConv.Source Prepare(float* x, int images, in ConvGeometry g, bool pooled, float* buffer)
    {
        if (!NeedsPadding(g, pooled))
            return new DirectConv.Source(x, g.InputImageSize, g.Width * g.Channels);
        (int down, int across) = Tiles(g, pooled);
        return DirectConv.CopyPadded(x, images, g, 2 * down + 2, 2 * across + 2, buffer);
    }

    /// <summary>
    /// U = G·g·Gᵀ for every channel and filter, laid out as the micro-kernel's B panels: element e, filter panel p, then
    /// channel c holds the 32 filters p·32.. of U[e][c] (w is (3, 3, C, F); <paramref name="u"/> has
    /// <see cref="TransformedLength"/> floats).
    /// </summary>
    public static void TransformFilters(float* w, int channels, int filters, float* u)
    {
        int panels = filters / FilterPanel;
        long tap = (long)channels * filters; // floats between the kernel's taps (kh, kw)
        Vector512<float> half = Vector512.Create(0.5f);
        Span<Vector512<float>> t = stackalloc Vector512<float>[12]; // t = G·g, row a, column v at 3a + v
        for (int c = 0; c < channels; c++)
            for (int f = 0; f < filters; f += 16)
            {
                float* g0 = w + (long)c * filters + f;
                // t = G·g: the three columns v of the kernel, each turned into four rows a.
                for (int v = 0; v < 3; v++)
                {
                    Vector512<float> top = Vector512.Load(g0 + v * tap), middle = Vector512.Load(g0 + (3 + v) * tap),
                        bottom = Vector512.Load(g0 + (6 + v) * tap);
                    t[v] = top;
                    t[3 + v] = half * (top + middle + bottom);
                    t[6 + v] = half * (top - middle + bottom);
                    t[9 + v] = bottom;
                }
                // U = t·Gᵀ: each row a of t turned into four columns b.
                int panel = f / FilterPanel, lane = f % FilterPanel;
                for (int a = 0; a < 4; a++)
                {
                    Vector512<float> left = t[3 * a], centre = t[3 * a + 1], right = t[3 * a + 2];
                    Store(u, 4 * a + 0, panel, panels, channels, c, lane, left);
                    Store(u, 4 * a + 1, panel, panels, channels, c, lane, half * (left + centre + right));
                    Store(u, 4 * a + 2, panel, panels, channels, c, lane, half * (left - centre + right));
                    Store(u, 4 * a + 3, panel, panels, channels, c, lane, right);
                }
            }

        static void Store(float* u, int element, int panel, int panels, int channels, int c, int lane, Vector512<float> value) =>
            value.Store(u + (((long)element * panels + panel) * channels + c) * FilterPanel + lane);
    }

    /// <summary>
    /// y = act(x∗w + b) for a chunk of images (<see cref="Applies"/> must hold), or with <paramref name="pooled"/> set,
    /// y = maxpool2×2(act(x∗w + b)) and its argmax (when not null) as <see cref="DirectConvForward.ForwardMaxPool"/>
    /// records it.
    /// </summary>
    /// <param name="x">The chunk's images as <see cref="Prepare"/> returned them.</param>
    /// <param name="images">Images in the chunk.</param>
    /// <param name="g">The convolution.</param>
    /// <param name="u">The transformed kernel (<see cref="TransformFilters"/>).</param>
    /// <param name="bias">F biases, or null for none.</param>
    /// <param name="filters">F.</param>
    /// <param name="relu">Whether the ReLU follows.</param>
    /// <param name="y">The chunk's output: images×OH×OW×F, or pooled images×PH×PW×F.</param>
    /// <param name="argmax">Pooled, in training: each maximum's position in its image's convolution output; else null.</param>
    /// <param name="pooled">Whether a 2×2, stride-2 max pooling follows (<see cref="DirectConvForward.PoolApplies"/>).</param>
    /// <param name="workspace">Of <see cref="WorkspaceLength"/> floats.</param>
    /// <param name="accumulate">Plain only: add the outputs to what y holds instead of storing them (an input gradient
    /// added onto another's).</param>
    public static void Forward(DirectConv.Source x, int images, in ConvGeometry g, float* u, float* bias, int filters, bool relu,
        float* y, int* argmax, bool pooled, float* workspace, bool accumulate = false)
    {
        int c = g.Channels, ow = g.OutputWidth, panels = filters / FilterPanel;
        (int down, int across) = Tiles(g, pooled);
        int perImage = down * across, tiles = images * perImage;
        float* v = workspace, m = workspace + Elements * BlockTiles * c;
        for (int first = 0; first < tiles; first += BlockTiles)
        {
            int count = Math.Min(BlockTiles, tiles - first);
            // V for the block's tiles; a last partial block repeats its last tile (computed, never stored).
            for (int j = 0; j < BlockTiles; j++)
            {
                int tile = first + Math.Min(j, count - 1), image = tile / perImage, th = tile % perImage / across, tw = tile % across;
                TransformInput(x.Images + (long)image * x.ImageStride + (long)2 * th * x.RowStride + 2 * tw * c, x.RowStride, c, v + j * c);
            }
            for (int p = 0; p < panels; p++)
            {
                // M[e] = V[e]·U[e] for the 8 tiles and this panel's 32 filters: 16 micro-kernel calls, all in L1.
                for (int e = 0; e < Elements; e++)
                    GemmMicroKernels.Kernel8x32DirectA(c, v + e * BlockTiles * c, c, u + ((long)e * panels + p) * c * FilterPanel,
                        m + e * BlockTiles * FilterPanel, FilterPanel, add: false);
                for (int j = 0; j < count; j++)
                {
                    int tile = first + j, image = tile / perImage, th = tile % perImage / across, tw = tile % across;
                    int f = p * FilterPanel;
                    for (int half = 0; half < FilterPanel; half += 16)
                    {
                        float* mj = m + j * FilterPanel + half;
                        Vector512<float> b = bias == null ? Vector512<float>.Zero : Vector512.Load(bias + f + half);
                        (Vector512<float> y00, Vector512<float> y01, Vector512<float> y10, Vector512<float> y11) = TransformOutput(mj);
                        y00 = Act(y00 + b, relu); y01 = Act(y01 + b, relu); y10 = Act(y10 + b, relu); y11 = Act(y11 + b, relu);
                        if (pooled)
                        {
                            long o = ((long)image * perImage + th * across + tw) * filters + f + half;
                            int index = (2 * th * ow + 2 * tw) * filters + f + half; // the tile's first pixel in the conv output
                            DirectConvForward.Pool(y00, y01, y10, y11, y + o, argmax == null ? null : argmax + o, index, filters, ow * filters, relu);
                            continue;
                        }
                        int oh0 = 2 * th, ow0 = 2 * tw;
                        float* yTile = y + (((long)image * g.OutputHeight + oh0) * ow + ow0) * filters + f + half;
                        bool right = ow0 + 1 < ow, below = oh0 + 1 < g.OutputHeight;
                        Put(y00, yTile, accumulate);
                        if (right)
                            Put(y01, yTile + filters, accumulate);
                        if (below)
                        {
                            Put(y10, yTile + (long)ow * filters, accumulate);
                            if (right)
                                Put(y11, yTile + (long)ow * filters + filters, accumulate);
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// V = Bᵀ·d·B of one tile for all C channels (16 at a time): d is the 4×4 input block at <paramref name="d"/> (rows
    /// <paramref name="rowStride"/> floats apart, pixels C apart); element e's channels go to v + e·8·C.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TransformInput(float* d, int rowStride, int channels, float* v)
    {
        long elementStride = (long)BlockTiles * channels;
        for (int c = 0; c < channels; c += ChannelLanes)
        {
            // Bᵀ·d: each column s of the block, over its rows r: (d0 − d2, d1 + d2, d2 − d1, d1 − d3).
            float* p = d + c;
            (Vector512<float> t00, Vector512<float> t10, Vector512<float> t20, Vector512<float> t30) = Column(p, rowStride);
            (Vector512<float> t01, Vector512<float> t11, Vector512<float> t21, Vector512<float> t31) = Column(p + channels, rowStride);
            (Vector512<float> t02, Vector512<float> t12, Vector512<float> t22, Vector512<float> t32) = Column(p + 2 * channels, rowStride);
            (Vector512<float> t03, Vector512<float> t13, Vector512<float> t23, Vector512<float> t33) = Column(p + 3 * channels, rowStride);
            // (Bᵀ·d)·B: each row a, over its columns s, the same combination; element (a, b) at v + (4a + b)·8·C.
            float* o = v + c;
            Row(o, elementStride, t00, t01, t02, t03);
            Row(o + 4 * elementStride, elementStride, t10, t11, t12, t13);
            Row(o + 8 * elementStride, elementStride, t20, t21, t22, t23);
            Row(o + 12 * elementStride, elementStride, t30, t31, t32, t33);
        }

        // One column of the block (its four rows, rowStride apart) through Bᵀ.
        static (Vector512<float>, Vector512<float>, Vector512<float>, Vector512<float>) Column(float* p, int rowStride)
        {
            Vector512<float> r0 = Vector512.Load(p), r1 = Vector512.Load(p + rowStride), r2 = Vector512.Load(p + 2 * rowStride),
                r3 = Vector512.Load(p + 3 * rowStride);
            return (r0 - r2, r1 + r2, r2 - r1, r1 - r3);
        }

        static void Row(float* o, long stride, Vector512<float> x0, Vector512<float> x1, Vector512<float> x2, Vector512<float> x3)
        {
            (x0 - x2).Store(o);
            (x1 + x2).Store(o + stride);
            (x2 - x1).Store(o + 2 * stride);
            (x1 - x3).Store(o + 3 * stride);
        }
    }

    /// <summary>
    /// Y = Aᵀ·M·A for one tile and 16 filters: element e's 16 values at m + e·8·32; returns the 2×2 outputs (row, column).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<float>, Vector512<float>, Vector512<float>, Vector512<float>) TransformOutput(float* m)
    {
        const int stride = BlockTiles * FilterPanel;
        // M·A: each row a of M, over its columns b: (m0 + m1 + m2, m1 − m2 − m3).
        (Vector512<float> s00, Vector512<float> s01) = Combine(m, stride);
        (Vector512<float> s10, Vector512<float> s11) = Combine(m + 4 * stride, stride);
        (Vector512<float> s20, Vector512<float> s21) = Combine(m + 8 * stride, stride);
        (Vector512<float> s30, Vector512<float> s31) = Combine(m + 12 * stride, stride);
        // Aᵀ·(M·A): the same over the rows.
        return (s00 + s10 + s20, s01 + s11 + s21, s10 - s20 - s30, s11 - s21 - s31);

        static (Vector512<float>, Vector512<float>) Combine(float* row, int stride)
        {
            Vector512<float> m0 = Vector512.Load(row), m1 = Vector512.Load(row + stride), m2 = Vector512.Load(row + 2 * stride),
                m3 = Vector512.Load(row + 3 * stride);
            return (m0 + m1 + m2, m1 - m2 - m3);
        }
    }

    /// <summary>Stores <paramref name="value"/> at <paramref name="at"/>, or adds it to what is there.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(Vector512<float> value, float* at, bool accumulate) =>
        (accumulate ? Vector512.Load(at) + value : value).Store(at);

    // ---- the input gradient: the same kernel on dZ ----------------------------------------------------------------

    /// <summary>
    /// The convolution that gives a 3×3, stride-1 convolution's input gradient: dX = dZ ∗ w′, where w′[kh, kw, f, c] =
    /// w[2 − kh, 2 − kw, c, f] (the kernel turned half a turn, channels and filters swapped), over dZ (OH×OW×F) padded by
    /// 2 − PadTop above and 2 − PadLeft on the left, giving H×W×C. Each dX element is then Σ dZ·w over the outputs whose
    /// window covers it, as col2im adds them.
    /// </summary>
    public static ConvGeometry InputGradientGeometry(in ConvGeometry g, int filters) =>
        new(g.OutputHeight, g.OutputWidth, filters, 3, 3, 1, 1, 2 - g.PadTop, 2 - g.PadLeft, g.Height, g.Width);

    /// <summary>Whether the input gradient of this convolution runs as a Winograd forward (<see cref="InputGradientGeometry"/>).</summary>
    public static bool InputGradientApplies(in ConvGeometry g, int filters) =>
        g.KernelHeight == 3 && g.KernelWidth == 3 && g.StrideHeight == 1 && g.StrideWidth == 1 && g.DilationHeight == 1
        && g.DilationWidth == 1 && g.PadTop <= 2 && g.PadLeft <= 2 && Applies(InputGradientGeometry(g, filters), g.Channels);

    /// <summary>w′ (3, 3, F, C) from w (3, 3, C, F): w′[kh, kw, f, c] = w[2 − kh, 2 − kw, c, f].</summary>
    public static void RotateKernel(float* w, int channels, int filters, float* rotated)
    {
        for (int kh = 0; kh < 3; kh++)
            for (int kw = 0; kw < 3; kw++)
            {
                float* from = w + (long)((2 - kh) * 3 + (2 - kw)) * channels * filters, to = rotated + (long)(kh * 3 + kw) * filters * channels;
                for (int c = 0; c < channels; c++)
                    for (int f = 0; f < filters; f++)
                        to[(long)f * channels + c] = from[(long)c * filters + f];
            }
    }

    /// <summary>ReLU (max(v, 0), as <see cref="ActivationKernels.ReluForward"/>), or the identity.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Act(Vector512<float> v, bool relu) => relu ? Vector512.Max(v, Vector512<float>.Zero) : v;
}
