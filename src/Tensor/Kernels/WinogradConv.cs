using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NanoNet.Kernels;

/// <summary>
/// The forward pass of a 3×3, stride-1 convolution by Winograd's minimal filtering F(m×m, 3×3) (Lavin and Gray, "Fast
/// Algorithms for Convolutional Neural Networks", 2016): each m×m block of output pixels from its (m + 2)×(m + 2) input
/// block with (m + 2)² multiply-adds per (channel, filter) pair instead of the direct method's 9·m², for some additions
/// before and after. Two sizes: F(2×2) (<see cref="WinogradTile2x2"/>, 2.25x fewer) and F(4×4)
/// (<see cref="WinogradTile4x4"/>, 4x fewer); <see cref="ChooseTile"/> picks the one with fewer products.
/// </summary>
/// <remarks>
/// <para>Shape legend: x is images×H×W×C (NHWC), read in place; w is (3, 3, C, F); y is images×OH×OW×F, or pooled
/// images×⌊OH/2⌋×⌊OW/2⌋×F. A <b>tile</b> is the m×m output block at (m·th, m·tw), read from the (m + 2)² input block at
/// the same corner of the zero-padded image (a block reaching over the image's edge is gathered with its zeros first,
/// <see cref="InputBlock"/>); tiles run over the images row by row (⌈OH/m⌉ × ⌈OW/m⌉ per image, or pooled ⌈PH/(m/2)⌉ × ⌈PW/(m/2)⌉).
/// An <b>element</b> e is one of the (m + 2)² positions of the transformed tile.</para>
/// <para>The algorithm, per tile, channel c and filter f, with g the 3×3 kernel and d the input block:
/// <code>
/// U = G·g·Gᵀ                    (once per call, for every c, f)
/// V = Bᵀ·d·B
/// M[e] = Σ_c V[e]·U[e]          ((m + 2)² independent products over C)
/// Y = Aᵀ·M·A                    (the m×m outputs), then + bias, ReLU
/// </code>
/// Per element the sum over channels is a small GEMM, (tiles × C)·(C × F): 8 tiles at a time against 32 filters, the
/// 8×32 micro-kernel reading V's rows in place (<see cref="GemmMicroKernels.Kernel8x32DirectA"/>), so the products of
/// a block of 8 tiles stay in L1 (F(2×2): V 16 × 8 × C, M 16 × 8 × 32) or L2 (F(4×4): 36 of each), then the output
/// transform. On AVX2 (WinogradConv.Avx2.cs) the same layout with 8-lane transforms and four 4×16 tiles per element.</para>
/// <para>Numerics: not the direct method's chain of FMAs, so not its bits: V, M and Y mix inputs with the transforms'
/// coefficients, so each output carries a few more roundings (F(2×2) within about 1e−6 of the sum of |terms|, F(4×4)
/// 1e−5: the tests hold both to a double-precision <see cref="ConvReference"/>-style sum). Results do not depend on the
/// thread count: a tile's arithmetic is the same in any chunk.</para>
/// <para>Pooled (a 2×2, stride-2 max pooling after the convolution): a tile holds (m/2)² whole pooling windows, pooled
/// from the tile's outputs with the argmax of <see cref="MaxPoolKernels"/>, as the direct kernel does
/// (<see cref="DirectConvForward.Pool"/>); a last odd output row or column that no window reads is not stored.</para>
/// </remarks>
internal static unsafe partial class WinogradConv
{
    /// <summary>Tiles per block (the micro-kernel's rows), filters per panel (its columns), channels per vector.</summary>
    public const int BlockTiles = 8, FilterPanel = 32, ChannelLanes = 16;

    /// <summary>Off only in tests and benchmarks, to compare with the direct kernel.</summary>
    internal static bool Enabled = true;

    /// <summary>0: <see cref="ChooseTile"/> compares the sizes; 2 or 4: that size (tests and benchmarks).</summary>
    internal static int ForcedTile;

    /// <summary>
    /// Whether the Winograd forward takes this convolution: 512-bit vectors with C a multiple of 16, or AVX2 + FMA
    /// (WinogradConv.Avx2.cs) with C a multiple of 8 (whole channel vectors); a 3×3 window at stride 1 without dilation,
    /// F a multiple of 32 (whole filter panels), at least one 2×2 tile. A 3-channel stem stays with the direct kernel (its
    /// patch of 27 values is too short to pay for the transforms).
    /// </summary>
    public static bool Applies(in ConvGeometry g, int filters) =>
        Enabled && (Vector512.IsHardwareAccelerated ? g.Channels % ChannelLanes == 0 : Runs256 && g.Channels % Lanes256 == 0)
        && g.KernelHeight == 3 && g.KernelWidth == 3
        && g.StrideHeight == 1 && g.StrideWidth == 1 && g.DilationHeight == 1 && g.DilationWidth == 1
        && filters > 0 && filters % FilterPanel == 0
        && g.OutputHeight >= 2 && g.OutputWidth >= 2;

    /// <summary>
    /// The tile size m (2 or 4) with fewer element products per image, tiles × (m + 2)²: F(4×4) unless its tiles would
    /// mostly hang past the output (a 2×2 output: 1 × 36 against 1 × 16; the Keras layers' 13×13: 16 × 36 against 49 × 16).
    /// Ties go to F(2×2), the more accurate.
    /// </summary>
    public static int ChooseTile(in ConvGeometry g, bool pooled)
    {
        if (ForcedTile != 0)
            return ForcedTile;
        (int down2, int across2) = Tiles(g, pooled, 2);
        (int down4, int across4) = Tiles(g, pooled, 4);
        return down4 * across4 * 36 < down2 * across2 * 16 ? 4 : 2;
    }

    /// <summary>
    /// Images per chunk of a Winograd forward, from the chunk size <paramref name="images"/> the other kernels use: the
    /// fewest images from there whose tiles fill whole blocks of 8, when that still leaves the batch in two chunks or
    /// more (for the workers), else <paramref name="images"/>. A block's products cost the same however many of its 8
    /// tiles are real, so a chunk ending in a part block pays for the missing ones: the Keras 64 → 64 layer, pooled by
    /// F(4×4), has 9 tiles per image, and its chunks of 2 images (18 tiles) ran 3 blocks for 2.25 blocks' work; 8 images
    /// make 72 tiles, 9 whole blocks. The results do not depend on the chunking (each tile's sums are its own).
    /// </summary>
    public static int ImagesPerChunk(in ConvGeometry g, bool pooled, int tile, int images, int batch)
    {
        (int down, int across) = Tiles(g, pooled, tile);
        int perImage = down * across, whole = images;
        while ((long)whole * perImage % BlockTiles != 0)
            whole++; // at most 7 more: 8 images always fill whole blocks
        return whole == images || (batch + whole - 1) / whole >= 2 ? whole : images;
    }

    /// <summary>Elements of a transformed tile: (m + 2)².</summary>
    public static int Elements(int tile) => (tile + 2) * (tile + 2);

    /// <summary>Floats of the transformed kernel U: (m + 2)² × C × F.</summary>
    public static int TransformedLength(in ConvGeometry g, int filters, int tile) => Elements(tile) * g.Channels * filters;

    /// <summary>
    /// Floats of one worker's block workspace: V ((m + 2)² × 8 × C), M ((m + 2)² × 8 × 32), the tile's outputs (m² × 16),
    /// the transforms' scratch ((m + 2)² × 16) and an edge tile's gathered input block ((m + 2)² × C).
    /// </summary>
    public static int WorkspaceLength(in ConvGeometry g, int tile) =>
        Elements(tile) * BlockTiles * (g.Channels + FilterPanel) + (tile * tile + Elements(tile)) * ChannelLanes + Elements(tile) * g.Channels;

    /// <summary>Tiles down and across one image: ⌈OH/m⌉ × ⌈OW/m⌉, or pooled ⌈PH/(m/2)⌉ × ⌈PW/(m/2)⌉ (PH = ⌊OH/2⌋).</summary>
    public static (int Down, int Across) Tiles(in ConvGeometry g, bool pooled, int tile)
    {
        int windows = tile / 2; // pooling windows per tile side
        return pooled
            ? ((g.OutputHeight / 2 + windows - 1) / windows, (g.OutputWidth / 2 + windows - 1) / windows)
            : ((g.OutputHeight + tile - 1) / tile, (g.OutputWidth + tile - 1) / tile);
    }

    /// <summary>
    /// The (m + 2)×(m + 2) input block of the tile whose output corner is (<paramref name="outputRow"/>,
    /// <paramref name="outputColumn"/>): a pointer into <paramref name="image"/> (H×W×C) and its row stride when the block
    /// lies inside the image, else the block gathered into <paramref name="block"/> ((m + 2)²×C floats) with zeros where it
    /// reaches over the edge (the convolution's zero border, or rows and columns after a last partial tile).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float* InputBlock(float* image, in ConvGeometry g, int outputRow, int outputColumn, int size, float* block, out int rowStride)
    {
        int top = outputRow - g.PadTop, left = outputColumn - g.PadLeft, c = g.Channels;
        if (top >= 0 && left >= 0 && top + size <= g.Height && left + size <= g.Width)
        {
            rowStride = g.Width * c;
            return image + ((long)top * g.Width + left) * c;
        }
        rowStride = size * c;
        Gather(image, g, top, left, size, block);
        return block;
    }

    /// <summary>
    /// The (m + 2)×(m + 2) block at (<paramref name="top"/>, <paramref name="left"/>) of the image into <paramref name="block"/>,
    /// zeros where it reaches over the edge: per block row, the pixels inside the image are one contiguous run of an image
    /// row, copied whole. Not inlined: only the tiles at an edge take it, and the kernels' loops stay smaller without it.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Gather(float* image, in ConvGeometry g, int top, int left, int size, float* block)
    {
        int c = g.Channels, rowStride = size * c;
        int firstInside = Math.Clamp(-left, 0, size), endInside = Math.Clamp(g.Width - left, firstInside, size);
        for (int r = 0; r < size; r++)
        {
            float* to = block + r * rowStride;
            int ih = top + r;
            if ((uint)ih >= (uint)g.Height || firstInside == endInside)
            {
                Zero(to, rowStride);
                continue;
            }
            Zero(to, firstInside * c);
            Copy(image + ((long)ih * g.Width + left + firstInside) * c, to + firstInside * c, (endInside - firstInside) * c);
            Zero(to + endInside * c, (size - endInside) * c);
        }
    }

    /// <summary>n floats (a multiple of 8) from <paramref name="from"/> to <paramref name="to"/>, a vector at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy(float* from, float* to, int n)
    {
        for (int i = 0; i < n; i += Vector256<float>.Count)
            Vector256.Load(from + i).Store(to + i);
    }

    /// <summary>n floats (a multiple of 8) at <paramref name="to"/> set to zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Zero(float* to, int n)
    {
        for (int i = 0; i < n; i += Vector256<float>.Count)
            Vector256<float>.Zero.Store(to + i);
    }

    /// <summary>
    /// U = G·g·Gᵀ for every channel and filter, laid out as the micro-kernel's B panels: filter panel p, element e, then
    /// channel c holds the 32 filters p·32.. of U[e][c] (w is (3, 3, C, F); <paramref name="u"/> has
    /// <see cref="TransformedLength"/> floats). Split by channels over the workers (<see cref="FilterJob"/>).
    /// </summary>
    public static void TransformFilters(float* w, int channels, int filters, float* u, int tile) =>
        RunFilterJob(w, channels, filters, null, u, tile);

    /// <summary>
    /// <see cref="RotateKernel"/> into <paramref name="rotated"/> ((3, 3, F, C)), then <see cref="TransformFilters"/> of it
    /// (its channels are w's filters) into <paramref name="u"/>: the kernel of the input gradient's Winograd forward.
    /// Split by w's filters over the workers, each rotating the rows it then transforms.
    /// </summary>
    public static void RotateAndTransformFilters(float* w, int channels, int filters, float* rotated, float* u, int tile) =>
        RunFilterJob(w, channels, filters, rotated, u, tile);

    /// <summary>Below this many channel × filter pairs the kernel is transformed on the calling thread.</summary>
    private const int ParallelPairs = 32 * 32;

    private static void RunFilterJob(float* w, int channels, int filters, float* rotated, float* u, int tile)
    {
        int rows = rotated == null ? channels : filters; // the transform's channels, which the workers split
        int workers = (long)channels * filters < ParallelPairs ? 1 : Math.Min(Parallelism.CurrentMaxThreads, rows);
        var job = t_filterJob ??= new FilterJob();
        job.W = w;
        job.Rotated = rotated;
        job.U = u;
        (job.Channels, job.Filters, job.Tile) = (channels, filters, tile);
        Parallelism.Run(job, workers); // one worker (or inside a region): on the calling thread
        job.W = job.Rotated = job.U = null;
    }

    [ThreadStatic] private static FilterJob? t_filterJob;

    /// <summary>
    /// Worker k of K: the transform's channels [rows·k/K, rows·(k+1)/K), rotated first when <see cref="Rotated"/> is set.
    /// Every U[e][c] depends on channel c's kernel alone, so the split changes no bit. Once per step and layer (the
    /// weights change every step), on one thread it was 3.4% of the Keras model's 2-thread step with the other core idle
    /// (`serial-parts.sh`, benchmarks/README.md, twenty-ninth sitting).
    /// </summary>
    private sealed class FilterJob : ParallelJob
    {
        public float* W, Rotated, U;
        public int Channels, Filters, Tile;

        public override void RunWorker(int worker, int workerCount)
        {
            if (Rotated == null)
            {
                (int first, int end) = Share(Channels, worker, workerCount);
                TransformChannels(W, Channels, Filters, U, Tile, first, end);
                return;
            }
            (int from, int to) = Share(Filters, worker, workerCount);
            RotateKernel(W, Channels, Filters, Rotated, from, to);
            TransformChannels(Rotated, Filters, Channels, U, Tile, from, to);
        }

        private static (int First, int End) Share(int rows, int worker, int workers) =>
            ((int)((long)rows * worker / workers), (int)((long)rows * (worker + 1) / workers));
    }

    /// <summary><see cref="TransformFilters"/> for channels [<paramref name="firstChannel"/>, <paramref name="endChannel"/>).</summary>
    private static void TransformChannels(float* w, int channels, int filters, float* u, int tile, int firstChannel, int endChannel)
    {
        if (!Vector512.IsHardwareAccelerated) // AVX2: the 8-lane transforms, the same layout
        {
            if (tile == 4)
                TransformChannels<WinogradTile4x4Lanes8>(w, channels, filters, u, firstChannel, endChannel);
            else
                TransformChannels<WinogradTile2x2Lanes8>(w, channels, filters, u, firstChannel, endChannel);
            return;
        }
        if (tile == 4)
            TransformChannels<WinogradTile4x4>(w, channels, filters, u, firstChannel, endChannel);
        else
            TransformChannels<WinogradTile2x2>(w, channels, filters, u, firstChannel, endChannel);
    }

    private static void TransformChannels<T>(float* w, int channels, int filters, float* u, int firstChannel, int endChannel)
        where T : struct, IWinogradTile
    {
        int elements = Elements(T.Outputs);
        long tap = (long)channels * filters, element = (long)channels * FilterPanel; // floats between taps in w, elements in u
        for (int f = 0; f < filters; f += T.Lanes) // the filters one vector of the transform's at a time
        {
            int panel = f / FilterPanel, lane = f % FilterPanel;
            for (int c = firstChannel; c < endChannel; c++) // channel by channel: each element's stores go on along one run of u
                T.TransformFilter(w + (long)c * filters + f, tap, u + ((long)panel * elements * channels + c) * FilterPanel + lane, element);
        }
    }

    /// <summary>
    /// y = act(x∗w + b) for a chunk of images (<see cref="Applies"/> must hold), or with <paramref name="pooled"/> set,
    /// y = maxpool2×2(act(x∗w + b)) and its argmax (when not null) as <see cref="DirectConvForward.ForwardMaxPool"/>
    /// records it.
    /// </summary>
    /// <param name="x">The chunk's images, images×H×W×C (read in place; a block over an edge gathered with zeros).</param>
    /// <param name="images">Images in the chunk.</param>
    /// <param name="g">The convolution.</param>
    /// <param name="u">The transformed kernel (<see cref="TransformFilters"/>, the same tile size).</param>
    /// <param name="bias">F biases, or null for none.</param>
    /// <param name="filters">F.</param>
    /// <param name="relu">Whether the ReLU follows.</param>
    /// <param name="y">The chunk's output: images×OH×OW×F, or pooled images×PH×PW×F.</param>
    /// <param name="argmax">Pooled, in training: each maximum's position in its image's convolution output; else null.</param>
    /// <param name="pooled">Whether a 2×2, stride-2 max pooling follows (<see cref="DirectConvForward.PoolApplies"/>).</param>
    /// <param name="tile">m: 2 or 4 (<see cref="ChooseTile"/>).</param>
    /// <param name="workspace">Of <see cref="WorkspaceLength"/> floats.</param>
    /// <param name="accumulate">Plain only: add the outputs to what y holds instead of storing them (an input gradient
    /// added onto another's).</param>
    public static void Forward(float* x, int images, in ConvGeometry g, float* u, float* bias, int filters, bool relu,
        float* y, int* argmax, bool pooled, int tile, float* workspace, bool accumulate = false)
    {
        if (!Vector512.IsHardwareAccelerated) // AVX2 (WinogradConv.Avx2.cs)
        {
            if (tile == 4)
                Forward256<WinogradTile4x4Lanes8>(x, images, g, u, bias, filters, relu, y, argmax, pooled, workspace, accumulate);
            else
                Forward256<WinogradTile2x2Lanes8>(x, images, g, u, bias, filters, relu, y, argmax, pooled, workspace, accumulate);
            return;
        }
        if (tile == 4)
            Forward<WinogradTile4x4>(x, images, g, u, bias, filters, relu, y, argmax, pooled, workspace, accumulate);
        else
            Forward<WinogradTile2x2>(x, images, g, u, bias, filters, relu, y, argmax, pooled, workspace, accumulate);
    }

    private static void Forward<T>(float* x, int images, in ConvGeometry g, float* u, float* bias, int filters, bool relu,
        float* y, int* argmax, bool pooled, float* workspace, bool accumulate) where T : struct, IWinogradTile
    {
        int m = T.Outputs, elements = Elements(m), c = g.Channels, oh = g.OutputHeight, ow = g.OutputWidth, panels = filters / FilterPanel;
        int ph = oh / 2, pw = ow / 2, windows = m / 2; // pooled outputs, and pooling windows per tile side
        (int down, int across) = Tiles(g, pooled, m);
        int perImage = down * across, tiles = images * perImage;
        // A pooling window's other outputs, from its first (DirectConvForward.Pool).
        Vector512<int> right = Vector512.Create(filters), below = Vector512.Create(ow * filters), diagonal = right + below;
        float* v = workspace, mBlock = v + elements * BlockTiles * c, yTile = mBlock + elements * BlockTiles * FilterPanel;
        float* scratch = yTile + m * m * ChannelLanes, block = scratch + elements * ChannelLanes;
        for (int first = 0; first < tiles; first += BlockTiles)
        {
            int count = Math.Min(BlockTiles, tiles - first);
            // V for the block's tiles; a last partial block repeats its last tile (computed, never stored).
            for (int j = 0; j < BlockTiles; j++)
            {
                int tile = first + Math.Min(j, count - 1), image = tile / perImage, th = tile % perImage / across, tw = tile % across;
                float* d = InputBlock(x + (long)image * g.InputImageSize, g, m * th, m * tw, m + 2, block, out int rowStride);
                T.TransformInput(d, rowStride, c, v + j * c, BlockTiles * c, ChannelLanes, scratch);
            }
            for (int p = 0; p < panels; p++)
            {
                // M[e] = V[e]·U[e] for the 8 tiles and this panel's 32 filters: one micro-kernel call per element.
                for (int e = 0; e < elements; e++)
                    GemmMicroKernels.Kernel8x32DirectA(c, v + e * BlockTiles * c, c, u + ((long)p * elements + e) * c * FilterPanel,
                        mBlock + e * BlockTiles * FilterPanel, FilterPanel, add: false);
                for (int j = 0; j < count; j++)
                {
                    int tile = first + j, image = tile / perImage, th = tile % perImage / across, tw = tile % across;
                    for (int f = p * FilterPanel; f < (p + 1) * FilterPanel; f += 16)
                    {
                        T.TransformOutput(mBlock + j * FilterPanel + f % FilterPanel, BlockTiles * FilterPanel, yTile, m * ChannelLanes, ChannelLanes, scratch);
                        Vector512<float> b = bias == null ? Vector512<float>.Zero : Vector512.Load(bias + f);
                        if (pooled)
                        {
                            // The tile's (m/2)² pooling windows, each 2×2 outputs, those inside the pooled output only.
                            for (int wi = 0; wi < windows; wi++)
                                for (int wj = 0; wj < windows; wj++)
                                {
                                    int row = th * windows + wi, column = tw * windows + wj;
                                    if (row >= ph || column >= pw)
                                        continue;
                                    float* corner = yTile + (2 * wi * m + 2 * wj) * ChannelLanes;
                                    long o = (((long)image * ph + row) * pw + column) * filters + f;
                                    int index = (2 * row * ow + 2 * column) * filters + f; // the window's first pixel in the conv output
                                    DirectConvForward.Pool(Act(Vector512.Load(corner) + b, relu), Act(Vector512.Load(corner + ChannelLanes) + b, relu),
                                        Act(Vector512.Load(corner + m * ChannelLanes) + b, relu), Act(Vector512.Load(corner + (m + 1) * ChannelLanes) + b, relu),
                                        y + o, argmax == null ? null : argmax + o, index, right, below, diagonal, relu);
                                }
                            continue;
                        }
                        // The tile's outputs inside the image (a last tile may hang past its bottom or right edge).
                        int rows = Math.Min(m, oh - m * th), columns = Math.Min(m, ow - m * tw);
                        float* yAt = y + (((long)image * oh + m * th) * ow + m * tw) * filters + f;
                        for (int i = 0; i < rows; i++)
                            for (int k = 0; k < columns; k++)
                                Put(Act(Vector512.Load(yTile + (i * m + k) * ChannelLanes) + b, relu), yAt + ((long)i * ow + k) * filters, accumulate);
                    }
                }
            }
        }
    }

    /// <summary>Six vectors stored <paramref name="stride"/> floats apart from <paramref name="o"/> (a transformed column or row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StoreSix(float* o, long stride, Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3,
        Vector512<float> v4, Vector512<float> v5)
    {
        v0.Store(o);
        v1.Store(o + stride);
        v2.Store(o + 2 * stride);
        v3.Store(o + 3 * stride);
        v4.Store(o + 4 * stride);
        v5.Store(o + 5 * stride);
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

    /// <summary>
    /// w′ (3, 3, F, C) from w (3, 3, C, F), w′[kh, kw, f, c] = w[2 − kh, 2 − kw, c, f], for the rows f of w′ in
    /// [<paramref name="firstFilter"/>, <paramref name="endFilter"/>).
    /// </summary>
    private static void RotateKernel(float* w, int channels, int filters, float* rotated, int firstFilter, int endFilter)
    {
        for (int kh = 0; kh < 3; kh++)
            for (int kw = 0; kw < 3; kw++)
            {
                float* from = w + (long)((2 - kh) * 3 + (2 - kw)) * channels * filters, to = rotated + (long)(kh * 3 + kw) * filters * channels;
                for (int f = firstFilter; f < endFilter; f++) // w′'s rows in order, each gathered from a column of w
                    for (int c = 0; c < channels; c++)
                        to[(long)f * channels + c] = from[(long)c * filters + f];
            }
    }

    /// <summary>ReLU (max(v, 0), as <see cref="ActivationKernels.ReluForward"/>), or the identity.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Act(Vector512<float> v, bool relu) => relu ? Vector512.Max(v, Vector512<float>.Zero) : v;
}
