using NanoNet.Memory;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NanoNet.Kernels;

/// <summary>
/// Single-precision general matrix multiply, C (+)= op(A)·op(B): packed, cache-blocked and
/// register-blocked in the style of BLIS / GotoBLAS, parallel over output tiles.
/// </summary>
/// <remarks>
/// <para>Shape legend: C is M×N, op(A) is M×K, op(B) is K×N, row-major with leading dimensions
/// lda/ldb/ldc. A transpose flag means the stored matrix is the transpose (K×M or N×K); it is never
/// materialised: the packing routines read it in the transposed order.</para>
/// <para>Blocking, outermost first (BLIS names):
/// <list type="bullet">
/// <item>the output is cut into tiles of MC rows × NC columns; one parallel region hands tiles to
/// workers, each first from its own contiguous home range, then from what is left in the others;</item>
/// <item>per tile, K is cut into KC-deep slabs; the slab of op(A) (MC×KC, fits L2) and of op(B)
/// (KC×NC) are packed into contiguous micro-panels, zero-padded to whole MR/NR multiples (a product with one B panel
/// and A read in place takes K whole, up to a limit: <see cref="SinglePanelSlab"/>);</item>
/// <item>the micro-kernel multiplies an MR×KC panel of A by a KC×NR panel of B, keeping the whole
/// MR×NR block of C in vector registers (see <see cref="GemmMicroKernels"/>);</item>
/// <item>between micro-tiles, the memory of the next block (A, B slab, C) is asked for a few lines at a time
/// (<see cref="GemmPrefetch"/>), so that skinny products streaming a big operand overlap its loads with the FMAs.</item>
/// </list></para>
/// <para>Determinism: each element of C is produced by exactly one tile, and its K-sum runs over the
/// same KC slabs in the same order whatever the thread count, so results are bitwise identical at
/// 1 and N threads.</para>
/// </remarks>
public static unsafe class Gemm
{
    // Cache blocks from this machine's cache sizes (GemmBlocking): 256, 96, 1024 on a 32 KB L1d / 1 MB L2 core.
    internal static readonly int KC = GemmBlocking.ThisMachine.KC;      // B micro-panel KC×32 fills L1d
    internal static readonly int MC = GemmBlocking.ThisMachine.MC;      // multiple of every MR (8, 6, 4)
    internal static readonly int MaxNC = GemmBlocking.ThisMachine.NC;   // multiple of every NR (32, 16, 8, 4)
    // Below ~1 MFLOP (about 10 µs on one core) a parallel region's wake-up and join cost as much as the second
    // thread saves: the 64×10×128 products of the CIFAR-10 seed model's last layer ran slower on two threads.
    private const long ParallelFlopThreshold = 1 << 20;
    /// <summary>
    /// Half the L2 the blocking assumed (KC×NC floats fill it): an operand larger than this does not stay cached from
    /// call to call (so it is prefetched, or read in place), and the most a <see cref="GemmPrefetch"/> plan may ask for.
    /// </summary>
    internal static readonly long HalfL2Bytes = (long)KC * MaxNC * sizeof(float) / 2;
    /// <summary>The column tile when M ≤ MC: a quarter of NC (256 on the 1 MB L2 core), a multiple of every NR.</summary>
    private static readonly int SkinnyNC = Math.Max(GemmBlocking.NCMultiple, MaxNC / 4 / GemmBlocking.NCMultiple * GemmBlocking.NCMultiple);
    /// <summary>Whether skinny products read their big operand in place (<see cref="GemmMicroKernels.Kernel8x32Strided{TRead}"/>,
    /// <see cref="GemmMicroKernels.Kernel6x16Strided{TRead}"/>);
    /// off only in tests, which check that both ways give the same bits, and under the benchmarks' <c>NANONET_GEMM_IN_PLACE_B=…,packed</c> switch.</summary>
    internal static bool ReadsInPlace = true;
    /// <summary>Whether a product split over several workers plans prefetches too (<see cref="GemmPrefetch"/>; one worker
    /// always does): on, but for the benchmarks' <c>NANONET_GEMM_PREFETCH=one,all</c> switch, kept so that a machine whose
    /// cores share memory differently (the Zen VMs) can measure the choice again in one process.</summary>
    internal static bool PrefetchesOnSeveralWorkers = true;
    /// <summary>
    /// The most rows of C for which B is read in place. Each 32-column panel of B read in place is KC rows ldb floats
    /// apart — 2 KB for a 512-wide B, so the panel's lines fall into a few L1 sets and leave L1 before the next row
    /// panel of A reuses them — while a packed panel is 32 contiguous KB. With M/8 = 8 row panels or fewer the packing
    /// costs about what it saves; with more it wins: the LSTM's chunked weight gradient (128×512×1024, Aᵀ) ran 1.04–1.12
    /// ms packed against 1.14–1.17 in place, 96 rows 0.80 against 0.87–0.89, while a Dense forward at M = 32 or 64 ran
    /// as fast or faster in place (best of 100, Emerald Rapids, benchmarks/README.md "Eleventh sitting").
    /// </summary>
    internal const int InPlaceBMaxRows = 64;
    /// <summary>
    /// Whether the 6×16 kernel (AVX2) reads A's rows where they lie (<see cref="GemmMicroKernels.Kernel6x16DirectA"/>):
    /// A not transposed, C at most <see cref="DirectAColumns256"/> wide, B not read in place itself (it is packed here,
    /// or beforehand). The same bits as packing A.
    /// </summary>
    internal static bool ReadsARowsInPlace256(GemmKernelKind kind, bool transA, int n, bool bInPlace) =>
        kind == GemmKernelKind.Vector256 && ReadsInPlace && !transA && n <= DirectAColumns256 && !bInPlace;

    /// <summary>The widest C whose A the 6×16 kernel reads in place (<see cref="GemmMicroKernels.Kernel6x16DirectA"/>):
    /// two panels (a convolution's im2col rows against 32 filters), where each A element feeds at most two tiles and
    /// packing it costs as much as its FMAs. Up to 256 columns the LSTM's per-step dh = dZ·Rᵀ ran faster alone
    /// (<c>step-gemm-time</c>, dZ streamed from memory: 11.4 → 10.0 ms for 200 steps) but slowed imdb-train (46.0–46.4 →
    /// 48.4–48.8 ms at 1 thread, builds alternated), where dZ_t is hot from the cell and packing it cheap
    /// (benchmarks/README.md, forty-third sitting), so not there.</summary>
    internal const int DirectAColumns256 = 32;

    /// <summary>The deepest K a single-panel product takes in one slab (<see cref="GemmBlocking.DirectASlabLimit"/>).</summary>
    internal static readonly int DirectASlabLimit = GemmBlocking.ThisMachine.DirectASlabLimit;
    /// <summary>Whether a single-panel product takes K whole (<see cref="SinglePanelSlab"/>): on, but for the benchmarks'
    /// <c>NANONET_GEMM_WHOLE_K=slabs,whole</c> switch, kept so that a 1 MB L2 core (the Zen VMs, a limit of 3072) can measure
    /// the choice again in one process; it was measured on Emerald Rapids.</summary>
    internal static bool TakesKWhole = true;
    /// <summary>Whether tiles reading a B panel in place ask for its rows ahead (<see cref="InPlacePanel"/>): on, but for the
    /// benchmarks' <c>NANONET_GEMM_IN_PLACE_B=plain,ahead</c> switch, kept so that the Zen VMs can measure the choice again
    /// in one process; it was measured on Emerald Rapids.</summary>
    internal static bool AsksInPlaceRowsAhead = true;
    /// <summary>Whether whole 6×16 tiles (AVX2) take their share of the prefetch plan along their K loop, as the 8×32 tiles
    /// do (<see cref="GemmPrefetch.TakeRun"/>), instead of in a burst before the tile (<see cref="GemmPrefetch.Step"/>): on,
    /// but for the benchmarks' <c>NANONET_GEMM_SPREAD=on,off</c> switch. A prefetch changes no value.</summary>
    internal static bool SpreadsPrefetch256 = true;

    /// <summary>
    /// The rows of one packed-A block for an M×K product: <see cref="MC"/>, or all of M (rounded up to a whole number of
    /// strips) when K is shorter than a slab and all M rows still fit the MC×KC block. One row block then uses each packed
    /// B slab once instead of reading it again from L2 for a second block, and, used once, the slab is narrowed and the
    /// next one prefetched as for any M ≤ MC (<see cref="SkinnyNC"/>). The rows of C do not meet in a sum, so any row
    /// block gives the same bits.
    /// </summary>
    /// <remarks>On the 512 KB L2 Zen 3 core (MC = 48) the CIFAR-10 seed's dX = dZ·Wᵀ (64×7200×128) ran 1.85–1.91 → 1.54 ms
    /// with cold caches (<c>gemm-time 40 1 cold</c>), its training step 1.3–1.5% faster at 1 thread and 2.2–2.4% at 2
    /// (800 steps switched step by step, <c>NANONET_GEMM_ONE_ROW_BLOCK=on,off</c>; benchmarks/README.md, §8, forty-seventh
    /// sitting). Widening every short-K block up to 4·MC instead slowed the Keras step ~1% (its dW = Xᵀ·dZ, K = 32,
    /// lost the prefetch of its next C block, too big for half of L2).</remarks>
    internal static int RowBlock(int m, int k) => OneRowBlockForShortK ? RowBlock(m, k, MC, KC) : MC;

    /// <summary><see cref="RowBlock(int, int)"/> for the blocking <paramref name="mc"/>, <paramref name="kc"/> (tests give recorded machines').</summary>
    internal static int RowBlock(int m, int k, int mc, int kc)
    {
        int all = (m + GemmBlocking.MCMultiple - 1) / GemmBlocking.MCMultiple * GemmBlocking.MCMultiple;
        return m > mc && k < kc && (long)all * k <= (long)mc * kc ? all : mc;
    }

    /// <summary>Whether <see cref="RowBlock(int, int)"/> may take all of M in one block: on, but for the benchmarks'
    /// <c>NANONET_GEMM_ONE_ROW_BLOCK=on,off</c> switch.</summary>
    internal static bool OneRowBlockForShortK = true;

    /// <summary>
    /// The K slab of a product C (+)= op(A)·B on the AVX-512 kernels: the whole K (up to <see cref="DirectASlabLimit"/>)
    /// when A is not transposed and B is a single panel of up to 32 columns, else KC. Such a product runs the 8×32 direct-A
    /// kernel (A's rows read in place: a convolution's im2col rows against 32 filters, the Keras Dense dX run as
    /// Cᵀ = W·dZᵀ); the paths that must give its bits ask the same rule — <see cref="GemmNarrow"/> (N &lt; 32),
    /// <see cref="GemmRows"/> (M &lt; 8) and the direct convolution (its filters as N).
    /// </summary>
    /// <remarks>
    /// KC bounds a slab so that a B panel stays in L1 while every A micro-panel of its block streams past it. With A read
    /// in place against one B panel nothing streams past it: cutting K only cuts A's rows into pieces read in separate
    /// passes, and makes every C tile be stored, read back and added once per slab. Calls alternated in one process on
    /// Emerald Rapids (benchmarks/README.md, thirty-sixth sitting): the Keras dX 7–12% faster whole, a 32-channel 3×3 im2col
    /// product (K = 289: slabs of 256 and 33 before) 8–19%, K = 1152 to 4608 13–32%. Each element of C is then one FMA chain
    /// over K instead of one per slab: other bits than the packed path's for the same product, the same at any thread count.
    /// </remarks>
    internal static int SinglePanelSlab(bool transA, int n, int k) =>
        TakesKWhole && !transA && n <= 32 && k > KC && k <= DirectASlabLimit ? k : KC;

    /// <summary>
    /// The register-blocking variant the machine supports best: the widest accelerated vectors, and for
    /// 128-bit vectors the tile that fits the architecture's register file (32 on ARM64, 16 on x86).
    /// </summary>
    internal static readonly GemmKernelKind BestKernel =
        Vector512.IsHardwareAccelerated ? GemmKernelKind.Vector512
        : Vector256.IsHardwareAccelerated ? GemmKernelKind.Vector256
        : Vector128.IsHardwareAccelerated
            ? RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? GemmKernelKind.Vector128Arm64 : GemmKernelKind.Vector128
        : GemmKernelKind.Scalar;

    /// <summary>
    /// C = op(A)·op(B) (or C += op(A)·op(B) when <paramref name="accumulate"/> is set).
    /// </summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate = false)
        => Multiply(BestKernel, transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate);

    /// <summary>
    /// C (+)= op(A)·B with B packed beforehand by <see cref="PackedMatrix.Pack"/>: for a B used by many
    /// calls (an LSTM's recurrent kernel, once per time step) the packing is paid once instead of per call.
    /// Same results, bit for bit, as the unpacked call.
    /// </summary>
    public static unsafe void Multiply(bool transA, int m, int n, int k, ReadOnlySpan<float> a, int lda,
        PackedMatrix b, Span<float> c, int ldc, bool accumulate = false)
    {
        ArgumentNullException.ThrowIfNull(b);
        if (b.K != k || b.N != n || b.Kind != BestKernel)
            throw new ArgumentException($"GEMM: the packed B is {b.K}x{b.N}, the call needs {k}x{n}.");
        fixed (float* packed = b.Data)
            MultiplyCore(BestKernel, transA, false, m, n, k, a, lda, default, 0, c, ldc, accumulate, packed + b.Offset);
    }

    internal static void Multiply(GemmKernelKind kind, bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate)
        => MultiplyCore(kind, transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, packedB: null);

    /// <summary>
    /// One piece of a <see cref="GemmKSplit"/> product, on the calling worker: C = op(A)·op(B) over the piece's
    /// <paramref name="k"/> rows, with the cache choices (prefetching, operands read in place) made for the whole
    /// product's <paramref name="wholeK"/>.
    /// </summary>
    internal static void MultiplyPiece(GemmKernelKind kind, bool transA, bool transB, int m, int n, int k,
        float* a, int lda, float* b, int ldb, float* c, int ldc, int wholeK)
    {
        long aLength = transA ? (long)(k - 1) * lda + m : (long)(m - 1) * lda + k;
        long bLength = transB ? (long)(n - 1) * ldb + k : (long)(k - 1) * ldb + n;
        MultiplyCore(kind, transA, transB, m, n, k, new ReadOnlySpan<float>(a, checked((int)aLength)), lda,
            new ReadOnlySpan<float>(b, checked((int)bLength)), ldb, new Span<float>(c, checked((int)((long)(m - 1) * ldc + n))), ldc,
            accumulate: false, packedB: null, wholeK);
    }

    // wholeK: the whole product's K when this call is a GemmKSplit piece (its size-based choices use it), else 0.
    private static void MultiplyCore(GemmKernelKind kind, bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate, float* packedB,
        int wholeK = 0)
    {
        if (packedB == null)
            Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        else
            Validate(transA, false, m, n, k, a.Length, lda, k * n, n, c.Length, ldc);
        if (m == 0 || n == 0)
            return;
        if (k == 0)
        {
            if (!accumulate)
                for (int i = 0; i < m; i++)
                    c.Slice(i * ldc, n).Clear();
            return;
        }

        fixed (float* pa = a, pb = b, pc = c)
        {
            if (GemmRows.Applies(kind, m, transB && packedB == null))
            {
                GemmRows.Multiply(kind, transA, m, n, k, pa, lda, pb, ldb, packedB, pc, ldc, accumulate);
                return;
            }
            long flops = 2L * m * n * k;
            // Small products, and calls from inside another kernel's parallel region, run on this thread.
            int threads = flops < ParallelFlopThreshold || WorkerPool.IsInsideRegion ? 1 : Parallelism.CurrentMaxThreads;
            if (wholeK == 0 && packedB == null && GemmKSplit.Applies(m, n, k))
            {
                GemmKSplit.Multiply(kind, transA, transB, m, n, k, pa, lda, pb, ldb, pc, ldc, accumulate, threads);
                return;
            }
            // Narrow C (N < 32): 8-row tiles on B in place, no panel padded to 32 columns (a K-split product's pieces come here too).
            if (GemmNarrow.Applies(kind, m, n, transB, packedB != null))
            {
                GemmNarrow.Multiply(transA, m, n, k, pa, lda, pb, ldb, pc, ldc, accumulate, threads);
                return;
            }
            int choiceK = wholeK > 0 ? wholeK : k;
            var job = GemmJob.Rent();
            if (TransposesC(kind, transA, transB, m, n, choiceK, packedB))
            {
                // Cᵀ = B·Aᵀ (B stored N×K read in place, Aᵀ packed), each tile stored transposed into C.
                job.Set(kind, false, true, n, m, k, pb, ldb, pa, lda, pc, ldc, accumulate, threads, choiceK);
                job.TransposedC = true;
            }
            else
            {
                job.Set(kind, transA, transB, m, n, k, pa, lda, pb, ldb, pc, ldc, accumulate, threads, choiceK);
            }
            job.PackedB = packedB;
            int workers = Math.Min(threads, job.TileCount);
            job.SetHomeRanges(Parallelism.WorkersFor(workers));
            int generation = ScratchBuffers.Generation;
            if (job.SharesB(workers))
            {
                job.SharedBSlab = ScratchBuffers.Rent(KC * MaxNC);
                job.SharedBStart = CacheLineAlignment.Offset(job.SharedBSlab); // once, for every worker
            }
            try
            {
                Parallelism.Run(job, workers);
            }
            finally
            {
                if (job.SharedBSlab is { } slab)
                    ScratchBuffers.Return(slab, generation);
                GemmJob.Return(job);
            }
        }
    }

    /// <summary>
    /// Whether C = A·Bᵀ (B stored N×K, too big to stay cached) with a few rows (8 ≤ M ≤ 32, the Keras Dense layer's
    /// dX = dZ·Wᵀ) is computed as Cᵀ = B·Aᵀ: B is then the left operand of a single-panel product, read in place by
    /// <see cref="GemmMicroKernels.Kernel8x32DirectA"/> (its rows are contiguous in K), instead of transposed 8×8 at a time
    /// into packed panels that only M/8 tiles read. Each tile is stored transposed. Every element takes the same FMAs
    /// (a·b = b·a exactly) in the same K slabs as the packed path, except on the 8×32 kernel past KC: the Cᵀ product is a
    /// single panel, which takes K whole up to a limit (<see cref="SinglePanelSlab"/>), one chain per element instead of one
    /// per KC slab (a 32 KB L1d's KC = 256 against K = 512, say); a rule on the shape, so the same at any thread count.
    /// At M = 64 (two panels) it was slower than packing (benchmarks/README.md).
    /// On the 6×16 kernel (AVX2) the same for 8 ≤ M ≤ <see cref="TransposedCMaxRows256"/>: B's rows read in place by
    /// <see cref="GemmMicroKernels.Kernel6x16DirectA"/>, each 6×16 tile stored through two 8×8 transposes.
    /// </summary>
    internal static bool TransposesC(GemmKernelKind kind, bool transA, bool transB, int m, int n, int k, float* packedB) =>
        ReadsInPlace && packedB == null && transB && !transA && m >= 8
        && (kind == GemmKernelKind.Vector512 ? m <= 32 : kind == GemmKernelKind.Vector256 && m <= TransposedCMaxRows256)
        && (long)n * k * sizeof(float) > HalfL2Bytes;

    /// <summary>
    /// The most rows of C computed as Cᵀ on the 6×16 kernel (<see cref="TransposesC"/>): two 16-column panels of Aᵀ, each
    /// 6-row strip of B read in place once and used by both from L1. Not static readonly: <c>gemm-time</c> sets it to 0
    /// to time the packed path in the same process.
    /// </summary>
    /// <remarks>Zen 3, one thread, cold caches (<c>gemm-time 30 1 cold</c>, alternated call by call): the Keras Dense dX
    /// 32×2304×512 0.96–1.01 ms against 1.27–1.33 packed; at M = 64 (four panels, the CIFAR-10 seed's dX 64×7200×128)
    /// 1.73–1.95 against 1.84–1.89, no gain, so not there (benchmarks/README.md, forty-fourth sitting).</remarks>
    internal static int TransposedCMaxRows256 = 32;

    /// <summary>
    /// The skinny products' big operand is read in place by the 8×32 kernel (AVX-512) or the 6×16 one (AVX2): B stored K×N
    /// when M is at most <see cref="InPlaceBMaxRows"/> (a Dense layer's forward: each B element feeds only M/8 tiles, so a
    /// packed copy costs as much as it saves); A stored K×M (transposed) when it outweighs B and K is one slab (a weight
    /// gradient Xᵀ·dZ, K = the batch).
    /// </summary>
    /// <remarks>M up to 64 even where MC is smaller (48 on a 512 KB L2): the second row block reads the B slab from L2. On a
    /// Zen 3 core (cold caches, <c>gemm-time</c>, builds alternated) the CIFAR-10 seed's Dense forward 64×128×7200 ran in
    /// 1.93 ms against 2.26 packed, its dW (Aᵀ in place) 1.57 against 2.52, the Keras Dense forward 32×512×2304 1.70 against
    /// 1.78–2.02 (benchmarks/README.md, forty-second sitting).</remarks>
    internal static InPlace ChooseInPlace(GemmKernelKind kind, bool transA, bool transB, int m, int n, int k, int choiceK)
    {
        if (kind is not (GemmKernelKind.Vector512 or GemmKernelKind.Vector256) || !ReadsInPlace)
            return InPlace.None;
        // Only an operand too big to stay cached from call to call: a small one (a convolution's weights, its
        // per-chunk im2col block) is packed once into L1-friendly panels and re-read from there more cheaply.
        InPlace inPlace = InPlace.None;
        if (!transB && m <= InPlaceBMaxRows && n > GemmMicroKernels.TileSize(kind).Nr
            && (long)choiceK * n * sizeof(float) > HalfL2Bytes)
            inPlace |= InPlace.B;
        if (transA && m >= n && m > MC && k <= KC && (long)m * choiceK * sizeof(float) > HalfL2Bytes)
            inPlace |= InPlace.A;
        return inPlace;
    }

    private static void Validate(bool transA, bool transB, int m, int n, int k,
        int aLength, int lda, int bLength, int ldb, int cLength, int ldc)
    {
        if (m < 0 || n < 0 || k < 0)
            throw new ArgumentException($"GEMM dimensions must be non-negative, got M={m}, N={n}, K={k}.");
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        Check("A", aRows, aCols, aLength, lda);
        Check("B", bRows, bCols, bLength, ldb);
        Check("C", m, n, cLength, ldc);

        static void Check(string name, int rows, int cols, int length, int ld)
        {
            if (rows == 0 || cols == 0)
                return;
            if (ld < cols)
                throw new ArgumentException($"GEMM: leading dimension of {name} is {ld}, smaller than its {cols} columns.");
            long needed = (long)(rows - 1) * ld + cols;
            if (length < needed)
                throw new ArgumentException($"GEMM: {name} is {rows}x{cols} (ld {ld}) and needs {needed} elements, but the buffer holds {length}.");
        }
    }

    /// <summary>One GEMM call's arguments and its tile loop; pooled so a call allocates nothing.</summary>
    private sealed unsafe class GemmJob : ParallelJob
    {
        [ThreadStatic] private static GemmJob? t_free;

        private GemmKernelKind _kind;
        private int _mr, _nr;
        private bool _transA, _transB, _accumulate;
        private int _m, _n, _k, _lda, _ldb, _ldc, _nc, _tilesPerRow, _rowsPerGroup;
        /// <summary>The rows of a packed-A block (<see cref="RowBlock(int, int)"/>): MC, or all of a short-K product's M.</summary>
        private int _mc;
        private float* _a, _b, _c;

        /// <summary>B already packed whole (slab after slab, NR panels within), or null to pack per tile.</summary>
        public float* PackedB;
        /// <summary>Hands out the tiles, each worker's own contiguous range first (<see cref="HomeRanges"/>).</summary>
        private readonly HomeRanges _tiles = new();
        /// <summary>Whether the operands are too large to stay in cache, so the next block is prefetched (<see cref="GemmPrefetch"/>).</summary>
        private bool _prefetches;
        /// <summary>Which operand the 8×32 kernel reads where it lies instead of packing it (<see cref="InPlace"/>).</summary>
        private InPlace _inPlace;
        /// <summary>The job computes Cᵀ (see <see cref="TransposesC"/>): its C tile (i, j) is stored at C[j, i].</summary>
        public bool TransposedC;

        public int TileCount { get; private set; }

        public static GemmJob Rent()
        {
            GemmJob job = t_free ?? new GemmJob();
            t_free = null; // a nested call on this thread (none today) would get its own job
            return job;
        }

        public static void Return(GemmJob job)
        {
            job._a = job._b = job._c = job.PackedB = null;
            job.SharedBSlab = null;
            job.TransposedC = false;
            t_free = job;
        }

        // choiceK: the K the size-based choices (prefetching, operands in place) use: k, or the whole product's when
        // this call is a GemmKSplit piece.
        public void Set(GemmKernelKind kind, bool transA, bool transB, int m, int n, int k,
            float* a, int lda, float* b, int ldb, float* c, int ldc, bool accumulate, int threads, int choiceK)
        {
            (_kind, _transA, _transB, _m, _n, _k) = (kind, transA, transB, m, n, k);
            _a = a; _b = b; _c = c;
            (_lda, _ldb, _ldc, _accumulate) = (lda, ldb, ldc, accumulate);
            (_mr, _nr) = GemmMicroKernels.TileSize(kind);
            _mc = RowBlock(m, k);
            int rowTiles = (m + _mc - 1) / _mc;
            // Narrow the column tiles until there are about four tasks per thread (load balance on a
            // shared machine), but keep at least 128 columns per tile (or an even share per thread):
            // every column tile re-packs its rows of A, so thin tiles waste work when M is small.
            // On one thread there is nothing to balance: one tile as wide as the B slab allows, so A is packed once.
            int columnTiles = threads == 1 ? 1 : Math.Max(1, (4 * threads + rowTiles - 1) / rowTiles);
            int nc = RoundUp((n + columnTiles - 1) / columnTiles, _nr);
            int minimumNc = Math.Min(128, RoundUp((n + threads - 1) / threads, _nr));
            _nc = Math.Clamp(Math.Max(nc, minimumNc), _nr, MaxNC);
            // Operands that together fit in half of L2 stay there from call to call (a convolution's per-block
            // input-gradient product): nothing to fetch ahead, so no prefetch plan and no narrowing below.
            // Every worker plans its own tiles (PrefetchesOnSeveralWorkers). When the plan was issued in bursts, it was
            // off on more than one worker (slower CIFAR-10 steps at 2 threads on Zen 4, sixth sitting); asked for along
            // the kernel's K loop it made the 2-thread Dense products 20–40% faster with cold caches and the seed steps
            // 0.2–1.5% faster on Emerald Rapids (benchmarks/README.md, thirty-fifth sitting).
            long footprint = ((long)m * choiceK + (long)choiceK * n + (long)m * n) * sizeof(float);
            _prefetches = (threads == 1 || PrefetchesOnSeveralWorkers) && footprint > HalfL2Bytes;
            // One row block (M ≤ MC: a Dense layer's batch; or all of a short-K product's M, RowBlock) uses each packed B
            // slab once, so the slab need not fill L2: narrower tiles leave room to prefetch the next one (GemmPrefetch)
            // while this one is multiplied.
            if (m <= _mc && _prefetches)
                _nc = Math.Min(_nc, SkinnyNC);
            _inPlace = ChooseInPlace(kind, transA, transB, m, n, k, choiceK);
            _tilesPerRow = (n + _nc - 1) / _nc;
            // A task is a column tile × a band of rows: its packed B slab is reused by every MC block
            // of the band (as in BLIS, where B is packed once per slab), so B is re-read once per band,
            // not once per row block. Bands are equal (whole micro-panels) and as few as balance allows:
            // about two tasks per thread when M is large, else one per thread.
            int targetTasks = m >= 2 * _mc ? 2 * threads : threads;
            int rowGroups = threads == 1 ? 1 : Math.Clamp((targetTasks + _tilesPerRow - 1) / _tilesPerRow, 1, (m + _mr - 1) / _mr);
            _rowsPerGroup = RoundUp((m + rowGroups - 1) / rowGroups, _mr);
            rowGroups = (m + _rowsPerGroup - 1) / _rowsPerGroup;
            TileCount = rowGroups * _tilesPerRow;
        }

        /// <summary>
        /// Whether the 8×32 kernel reads A's rows in place (<see cref="GemmMicroKernels.Kernel8x32DirectA"/>): with a single
        /// B panel each A element is used once, so packing it would copy it for one use (a convolution's short im2col rows;
        /// the big operand of a <see cref="TransposedC"/> product).
        /// </summary>
        /// <remarks>On the 6×16 kernel (AVX2), see <see cref="ReadsARowsInPlace256"/>.</remarks>
        private bool DirectA => _kind == GemmKernelKind.Vector512 ? !_transA && _n <= _nr
            : TransposedC || ReadsARowsInPlace256(_kind, _transA, _n, bInPlace: PackedB == null && (_inPlace & InPlace.B) != 0);

        private static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;

        /// <summary>
        /// The depth of the K slabs: <see cref="SinglePanelSlab"/> on the 8×32 kernel, else KC. A B packed beforehand
        /// (<see cref="PackedMatrix"/>) with a single panel is one K×32 panel in order too: its KC slabs lie one after the
        /// other. A rule on the shape only, the same in both tile loops, so the K sums run in the same order at any thread count.
        /// </summary>
        private int SlabDepth() => _kind == GemmKernelKind.Vector512 ? SinglePanelSlab(_transA, _n, _k) : KC;

        /// <summary>Cuts the tiles into one contiguous home range per worker, before the region starts (<see cref="HomeRanges"/>).</summary>
        public void SetHomeRanges(int workers) => _tiles.Reset(TileCount, workers);

        /// <summary>
        /// Whether the workers share each packed B slab (large M, several workers): then B is packed once
        /// in all, cooperatively, and each worker multiplies its own equal band of rows.
        /// </summary>
        public bool SharesB(int workers) => workers > 1 && PackedB == null && _m >= workers * _mc;

        public override void RunWorker(int worker, int workerCount)
        {
            // Packing panels come from the shared scratch buffers (not per thread): bounded, and trimmable.
            int generation = ScratchBuffers.Generation;
            float[] packA = ScratchBuffers.Rent(MC * KC);
            try
            {
                if (SharesB(workerCount))
                {
                    fixed (float* pA = packA)
                        RunWithSharedB(worker, workerCount, CacheLineAlignment.Align(pA));
                    return;
                }
                float[] packB = ScratchBuffers.Rent(KC * MaxNC);
                try
                {
                    fixed (float* pA0 = packA, pB0 = packB)
                    {
                        // Each panel starts on a cache line: the kernel's 512-bit loads of B never span two.
                        float* pA = CacheLineAlignment.Align(pA0), pB = CacheLineAlignment.Align(pB0);
                        int tile, range = _tiles.HomeOf(worker);
                        while ((tile = _tiles.Take(ref range)) >= 0)
                        {
                            int rowStart = tile / _tilesPerRow * _rowsPerGroup;
                            int jc = tile % _tilesPerRow * _nc;
                            ComputeTile(tile, rowStart, Math.Min(_rowsPerGroup, _m - rowStart), jc, Math.Min(_nc, _n - jc), pA, pB);
                        }
                    }
                }
                finally
                {
                    ScratchBuffers.Return(packB, generation);
                }
            }
            finally
            {
                ScratchBuffers.Return(packA, generation);
            }
        }

        /// <summary>
        /// The BLIS schedule: per NC column block and KC slab, all workers pack the slab of B together
        /// (panel by panel, round robin), meet at a barrier, multiply their own band of rows against it,
        /// and meet again before the slab is overwritten. B is read from memory once in all.
        /// </summary>
        private void RunWithSharedB(int worker, int workers, float* packA)
        {
            fixed (float* sharedB = SharedBSlab)
                RunWithSharedB(worker, workers, packA, sharedB + SharedBStart);
        }

        private void RunWithSharedB(int worker, int workers, float* packA, float* sharedB)
        {
            float* edge = stackalloc float[GemmMicroKernels.MaxTileElements + 64]; // a padded tile, and an 8×8 block for TransposedC
            int band = RoundUp((_m + workers - 1) / workers, _mr);
            int rowStart = Math.Min(_m, worker * band), rows = Math.Min(band, _m - rowStart);
            bool directA = DirectA;
            int slab = SlabDepth();
            GemmPrefetch prefetch = default;
            for (int jc = 0; jc < _n; jc += MaxNC)
            {
                int nc = Math.Min(MaxNC, _n - jc);
                int panels = (nc + _nr - 1) / _nr;
                for (int pc = 0; pc < _k; pc += slab)
                {
                    int kc = Math.Min(slab, _k - pc);
                    for (int panel = worker; panel < panels; panel += workers)
                    {
                        int jr = panel * _nr;
                        GemmPacking.PackB(_transB, _b, _ldb, pc, kc, jc + jr, Math.Min(_nr, nc - jr), _nr, sharedB + (long)jr * kc);
                    }
                    _barrier.SignalAndWait(workers);
                    bool add = _accumulate || pc > 0;
                    for (int ic = rowStart; ic < rowStart + rows; ic += _mc)
                    {
                        int mc = Math.Min(_mc, rowStart + rows - ic);
                        if (!directA)
                            GemmPacking.PackA(_transA, _a, _lda, ic, mc, pc, kc, _mr, packA);
                        // The next row block of the band (its A, and C on its first touch); the shared slab is packed by all.
                        if (ic + _mc < rowStart + rows && !directA && _prefetches)
                        {
                            int nextMc = Math.Min(_mc, rowStart + rows - ic - _mc);
                            prefetch.Set(ARegion(ic + _mc, nextMc, pc, kc), pc == 0 ? CRegion(ic + _mc, nextMc, jc, nc) : default, default,
                                (mc + _mr - 1) / _mr * ((nc + _nr - 1) / _nr));
                        }
                        else
                        {
                            prefetch.Clear();
                        }
                        if (directA && _kind == GemmKernelKind.Vector256)
                            MacroKernelDirectA256(ic, mc, jc, nc, kc, pc, add, packA, sharedB, edge);
                        else
                            MacroKernel(ic, mc, jc, nc, kc, pc, add, directA, InPlace.None, packA, sharedB, edge, ref prefetch);
                    }
                    _barrier.SignalAndWait(workers);
                }
            }
        }

        private readonly SpinBarrier _barrier = new();
        /// <summary>The packed B slab all workers share (KC×MaxNC, pinned), rented from the scratch buffers for one shared-B call.</summary>
        public float[]? SharedBSlab;
        /// <summary>Where the shared slab's panels start in <see cref="SharedBSlab"/>: on a cache line (<see cref="CacheLineAlignment"/>).</summary>
        public int SharedBStart;

        /// <summary>C[rowStart.., jc..] for `rows` rows and nc columns: per K slab, pack B once, then each MC row block.</summary>
        private void ComputeTile(int tile, int rowStart, int rows, int jc, int nc, float* packA, float* packB)
        {
            float* edge = stackalloc float[GemmMicroKernels.MaxTileElements + 64]; // a padded tile, and an 8×8 block for TransposedC
            bool directA = DirectA;
            InPlace inPlace = PackedB != null ? _inPlace & ~InPlace.B : _inPlace; // B packed beforehand is read packed
            GemmPrefetch prefetch = default;
            int slab = SlabDepth();
            for (int pc = 0; pc < _k; pc += slab)
            {
                int kc = Math.Min(slab, _k - pc);
                bool add = _accumulate || pc > 0;
                if (PackedB != null)
                    packB = PackedB + (long)pc * PackedMatrix.PaddedColumns(_n, _nr) + (long)jc * kc;
                else if ((inPlace & InPlace.B) == 0)
                    GemmPacking.PackB(_transB, _b, _ldb, pc, kc, jc, nc, _nr, packB);
                for (int ic = rowStart; ic < rowStart + rows; ic += _mc)
                {
                    int mc = Math.Min(_mc, rowStart + rows - ic);
                    if (!directA && (inPlace & InPlace.A) == 0)
                        GemmPacking.PackA(_transA, _a, _lda, ic, mc, pc, kc, _mr, packA);
                    // Direct A (a convolution's short im2col rows) streams both A and C in order: the hardware prefetcher follows.
                    if (!directA && _prefetches)
                        PlanNext(ref prefetch, tile, rowStart, rows, jc, nc, ic, mc, pc, kc);
                    if (directA && _kind == GemmKernelKind.Vector256)
                        MacroKernelDirectA256(ic, mc, jc, nc, kc, pc, add, packA, packB, edge);
                    else
                        MacroKernel(ic, mc, jc, nc, kc, pc, add, directA, inPlace, packA, packB, edge, ref prefetch);
                }
            }
        }

        /// <summary>
        /// <see cref="MacroKernel"/> with A read in place on the 6×16 kernel (<see cref="DirectA"/>): whole tiles by
        /// <see cref="GemmMicroKernels.Kernel6x16DirectA"/>, a strip of 4 rows by <see cref="GemmMicroKernels.Kernel4x16"/> (A's
        /// row stride lda, its step 1); a strip of 1–3 rows packed once and run by the same kernel (in place its 4-row loads
        /// would read past A's last row), a 5-row strip or a partial panel from a packed strip through the edge tile.
        /// Apart from <see cref="MacroKernel"/>: added there, it changed what the JIT inlines in that loop, and the packed
        /// products ran 2–8% slower. A <see cref="TransposedC"/> product runs <see cref="MacroKernelTransposedC256"/>.
        /// </summary>
        private void MacroKernelDirectA256(int ic, int mc, int jc, int nc, int kc, int pc, bool add, float* packA, float* packB, float* edge)
        {
            if (TransposedC)
            {
                MacroKernelTransposedC256(ic, mc, jc, nc, kc, pc, add, packA, packB, edge);
                return;
            }
            // Strips outer, panels inner (at most DirectAColumns256 / 16 of them): a strip's rows stay in L1 across the
            // panels, and an edge strip is packed once, not once per panel.
            for (int ir = 0; ir < mc; ir += _mr)
            {
                int mr = Math.Min(_mr, mc - ir);
                float* a = _a + (long)(ic + ir) * _lda + pc;
                bool packed = mr != _mr && mr != 4;
                if (packed) // 1–3 rows (in place, the 4-row kernel's loads would read past A's last row) or 5
                    GemmPacking.PackA(false, _a, _lda, ic + ir, mr, pc, kc, _mr, packA);
                for (int jr = 0; jr < nc; jr += _nr)
                {
                    int nr = Math.Min(_nr, nc - jr);
                    float* bPanel = packB + jr * kc, cTile = _c + (long)(ic + ir) * _ldc + jc + jr;
                    if (nr == _nr && mr == _mr)
                        GemmMicroKernels.Kernel6x16DirectA(kc, a, _lda, bPanel, cTile, _ldc, add);
                    else if (nr == _nr && mr <= 4)
                        GemmMicroKernels.Kernel4x16(kc, packed ? packA : a, packed ? 1 : _lda, packed ? _mr : 1, bPanel, _nr, cTile, _ldc, add, mr);
                    else
                    {
                        if (!packed)
                            GemmPacking.PackA(false, _a, _lda, ic + ir, mr, pc, kc, _mr, packA);
                        packed = true;
                        GemmMicroKernels.Run(_kind, kc, packA, bPanel, edge, _nr, add: false);
                        CopyEdge(edge, cTile, mr, nr, add);
                    }
                }
            }
        }

        /// <summary>
        /// <see cref="MacroKernelDirectA256"/> for a <see cref="TransposedC"/> product: each tile of Cᵀ (6 rows of the big
        /// operand read in place × 16 columns) into the edge tile, then stored transposed (<see cref="StoreTransposed"/>).
        /// Strips outer, so a strip's rows are read from memory once and used by every panel (at most two) from L1.
        /// </summary>
        private void MacroKernelTransposedC256(int ic, int mc, int jc, int nc, int kc, int pc, bool add, float* packA, float* packB, float* edge)
        {
            for (int ir = 0; ir < mc; ir += _mr)
            {
                int mr = Math.Min(_mr, mc - ir);
                float* a = _a + (long)(ic + ir) * _lda + pc;
                bool packed = mr != _mr && mr != 4;
                if (packed) // 1–3 rows (the 4-row kernel's loads would read past A's last row) or 5
                    GemmPacking.PackA(false, _a, _lda, ic + ir, mr, pc, kc, _mr, packA);
                for (int jr = 0; jr < nc; jr += _nr)
                {
                    float* bPanel = packB + jr * kc;
                    if (mr == _mr)
                        GemmMicroKernels.Kernel6x16DirectA(kc, a, _lda, bPanel, edge, _nr, add: false);
                    else if (mr <= 4)
                        GemmMicroKernels.Kernel4x16(kc, packed ? packA : a, packed ? 1 : _lda, packed ? _mr : 1, bPanel, _nr, edge, _nr, add: false, mr);
                    else
                        GemmMicroKernels.Run(_kind, kc, packA, bPanel, edge, _nr, add: false);
                    StoreTransposed(edge, ic + ir, mr, jc + jr, Math.Min(_nr, nc - jr), add);
                }
            }
        }

        /// <summary>
        /// Plans the prefetch of what this worker reads after block (ic, pc) of its tile: the next row block's A (and C
        /// on its first touch), else the next K slab's B and A, else the next tile's B, A and C. The next tile is a
        /// guess: tile + 1, the next of its home range (<see cref="HomeRanges"/>; exact on one worker, missed on several
        /// when the worker steals instead); a wrong guess costs bandwidth, never a value.
        /// </summary>
        private void PlanNext(ref GemmPrefetch prefetch, int tile, int rowStart, int rows, int jc, int nc, int ic, int mc, int pc, int kc)
        {
            int tiles = (mc + _mr - 1) / _mr * ((nc + _nr - 1) / _nr);
            if (ic + _mc < rowStart + rows)
            {
                int nextMc = Math.Min(_mc, rowStart + rows - ic - _mc);
                prefetch.Set(ARegion(ic + _mc, nextMc, pc, kc), pc == 0 ? CRegion(ic + _mc, nextMc, jc, nc) : default, default, tiles);
            }
            else if (pc + KC < _k)
            {
                int nextKc = Math.Min(KC, _k - pc - KC);
                prefetch.Set(BRegion(pc + KC, nextKc, jc, nc), ARegion(rowStart, Math.Min(_mc, rows), pc + KC, nextKc), default, tiles);
            }
            else if (tile + 1 < TileCount)
            {
                int next = tile + 1;
                int nextRow = next / _tilesPerRow * _rowsPerGroup, nextJc = next % _tilesPerRow * _nc;
                int nextMc = Math.Min(_mc, Math.Min(_rowsPerGroup, _m - nextRow)), nextNc = Math.Min(_nc, _n - nextJc), firstKc = Math.Min(KC, _k);
                prefetch.Set(BRegion(0, firstKc, nextJc, nextNc), ARegion(nextRow, nextMc, 0, firstKc), CRegion(nextRow, nextMc, nextJc, nextNc), tiles);
            }
            else
            {
                prefetch.Clear();
            }
        }

        /// <summary>Where op(A)[ic.., pc..] (mc×kc) lies in memory.</summary>
        private GemmPrefetch.Region ARegion(int ic, int mc, int pc, int kc) => _transA
            ? new(_a + (long)pc * _lda + ic, kc, mc, _lda)
            : new(_a + (long)ic * _lda + pc, mc, kc, _lda);

        /// <summary>Where op(B)[pc.., jc..] (kc×nc) lies in memory, packed beforehand or not.</summary>
        private GemmPrefetch.Region BRegion(int pc, int kc, int jc, int nc)
        {
            if (PackedB != null)
            {
                int padded = PackedMatrix.PaddedColumns(_n, _nr);
                return new(PackedB + (long)pc * padded + (long)jc * kc, 1, kc * PackedMatrix.PaddedColumns(nc, _nr), 0);
            }
            return _transB ? new(_b + (long)jc * _ldb + pc, nc, kc, _ldb) : new(_b + (long)pc * _ldb + jc, kc, nc, _ldb);
        }

        /// <summary>Where C[ic.., jc..] (mc×nc) lies.</summary>
        private GemmPrefetch.Region CRegion(int ic, int mc, int jc, int nc) => new(_c + (long)ic * _ldc + jc, mc, nc, _ldc);

        /// <summary>
        /// One MC×KC block of A (packed, or read in place) times one KC×NC slab of B (packed, or read in place),
        /// micro-tile by micro-tile. An operand read in place (<paramref name="inPlace"/>) still has its edge strips
        /// or panels packed here, zero-padded, as the tiles first need them.
        /// </summary>
        private void MacroKernel(int ic, int mc, int jc, int nc, int kc, int pc, bool add, bool directA, InPlace inPlace,
            float* packA, float* packB, float* edge, ref GemmPrefetch prefetch)
        {
            for (int jr = 0; jr < nc; jr += _nr)
            {
                int nr = Math.Min(_nr, nc - jr);
                float* bPanel = packB + jr * kc;
                int bStep = _nr;
                if ((inPlace & InPlace.B) != 0)
                {
                    if (nr == _nr)
                    {
                        bPanel = _b + (long)pc * _ldb + jc + jr;
                        bStep = _ldb;
                    }
                    else
                        GemmPacking.PackB(false, _b, _ldb, pc, kc, jc + jr, nr, _nr, bPanel);
                }
                for (int ir = 0; ir < mc; ir += _mr)
                {
                    int mr = Math.Min(_mr, mc - ir);
                    float* cTile = _c + (long)(ic + ir) * _ldc + jc + jr;
                    bool full = mr == _mr && nr == _nr;
                    // A whole 8×32 or 6×16 tile takes its share of the prefetch plan into its K loop; any other tile issues it first.
                    byte* prefetchRun = null;
                    int prefetchLines = 0;
                    bool spreadsPrefetch = full && (_kind == GemmKernelKind.Vector512 || (_kind == GemmKernelKind.Vector256 && SpreadsPrefetch256))
                        && !TransposedC && !directA;
                    if (spreadsPrefetch)
                        prefetchLines = prefetch.TakeRun(out prefetchRun);
                    else
                        prefetch.Step();
                    if (TransposedC)
                    {
                        if (directA && mr == _mr)
                        {
                            GemmMicroKernels.Kernel8x32DirectA(kc, _a + (long)(ic + ir) * _lda + pc, _lda, bPanel, edge, _nr, add: false);
                        }
                        else
                        {
                            float* strip = packA + ir * kc;
                            if (directA) // edge of an unpacked A: pack just this strip, zero-padded
                            {
                                GemmPacking.PackA(false, _a, _lda, ic + ir, mr, pc, kc, _mr, packA);
                                strip = packA;
                            }
                            GemmMicroKernels.Run(_kind, kc, strip, bPanel, edge, _nr, add: false);
                        }
                        StoreTransposed(edge, ic + ir, mr, jc + jr, nr, add);
                        continue;
                    }
                    if (directA && full)
                    {
                        GemmMicroKernels.Kernel8x32DirectA(kc, _a + (long)(ic + ir) * _lda + pc, _lda, bPanel, cTile, _ldc, add);
                        continue;
                    }
                    float* aPanel = packA + ir * kc;
                    if (inPlace != InPlace.None)
                    {
                        int aStep = _mr;
                        if ((inPlace & InPlace.A) != 0)
                        {
                            if (mr == _mr)
                            {
                                aPanel = _a + (long)pc * _lda + ic + ir;
                                aStep = _lda;
                            }
                            else if (jr == 0)
                                GemmPacking.PackA(true, _a, _lda, ic + ir, mr, pc, kc, _mr, aPanel);
                        }
                        if (_kind == GemmKernelKind.Vector256 && mr <= 4 && nr == _nr) // an edge strip of 1–4 rows: 8 chains, into C
                        {
                            GemmMicroKernels.Kernel4x16(kc, aPanel, 1, aStep, bPanel, bStep, cTile, _ldc, add, mr);
                            continue;
                        }
                        float* target = full ? cTile : edge;
                        int ldTarget = full ? _ldc : _nr;
                        bool asksRowsAhead = bStep != _nr && AsksInPlaceRowsAhead; // B read in place: its rows lie ldb apart
                        if (_kind == GemmKernelKind.Vector256)
                        {
                            if (asksRowsAhead)
                                GemmMicroKernels.Kernel6x16Strided<InPlacePanel>(kc, aPanel, aStep, bPanel, bStep, target, ldTarget, full && add,
                                    prefetchRun, prefetchLines);
                            else
                                GemmMicroKernels.Kernel6x16Strided<PackedPanel>(kc, aPanel, aStep, bPanel, bStep, target, ldTarget, full && add,
                                    prefetchRun, prefetchLines);
                        }
                        else if (asksRowsAhead)
                            GemmMicroKernels.Kernel8x32Strided<InPlacePanel>(kc, aPanel, aStep, bPanel, bStep, target, ldTarget,
                                full && add, prefetchRun, prefetchLines);
                        else
                            GemmMicroKernels.Kernel8x32Strided<PackedPanel>(kc, aPanel, aStep, bPanel, bStep, target, ldTarget,
                                full && add, prefetchRun, prefetchLines);
                        if (!full)
                            CopyEdge(edge, cTile, mr, nr, add);
                        continue;
                    }
                    if (directA) // edge of an unpacked A: pack just this strip, zero-padded
                    {
                        GemmPacking.PackA(false, _a, _lda, ic + ir, mr, pc, kc, _mr, packA);
                        aPanel = packA;
                    }
                    if (full)
                    {
                        GemmMicroKernels.Run(_kind, kc, aPanel, bPanel, cTile, _ldc, add, prefetchRun, prefetchLines);
                    }
                    else if (_kind == GemmKernelKind.Vector256 && mr <= 4 && nr == _nr) // an edge strip of 1–4 rows: 8 chains, into C
                    {
                        GemmMicroKernels.Kernel4x16(kc, aPanel, 1, _mr, bPanel, _nr, cTile, _ldc, add, mr);
                    }
                    else
                    {
                        // Edge tile: compute the full padded block into a scratch tile, then move the
                        // valid part with a scalar loop.
                        GemmMicroKernels.Run(_kind, kc, aPanel, bPanel, edge, _nr, add: false);
                        CopyEdge(edge, cTile, mr, nr, add);
                    }
                }
            }
        }

        /// <summary>
        /// The valid mr×nr part of a padded tile of Cᵀ (row stride NR, rows from <paramref name="row"/>, columns from
        /// <paramref name="column"/>) into C, transposed, added or stored: a whole 8×32 tile as four 8×8 transposes
        /// (the 8×8 block lands at edge + NR·MR), each of its rows one 8-float run of a row of C; a whole 6×16 tile as two,
        /// each row a 6-float run.
        /// </summary>
        private void StoreTransposed(float* edge, int row, int mr, int column, int nr, bool add)
        {
            float* c = _c + (long)column * _ldc + row; // Cᵀ[row, column] is C[column, row]
            if (mr == 8 && nr == 32 && _nr == 32)
            {
                float* block = edge + 32 * 8;
                for (int q = 0; q < 32; q += 8)
                {
                    GemmPacking.Transpose8x8(edge + q, 32, block, 8);
                    for (int j = 0; j < 8; j++)
                    {
                        float* dst = c + (long)(q + j) * _ldc;
                        Vector256<float> v = Vector256.Load(block + j * 8);
                        if (add)
                            v = Vector256.Load(dst) + v;
                        v.Store(dst);
                    }
                }
                return;
            }
            if (mr == 6 && nr == 16 && _nr == 16)
            {
                // A whole 6×16 tile: two 8×8 transposes of the tile's rows 0–7 (rows 6 and 7 are stale, never stored);
                // each 8-float row of a transposed block holds one row of C's 6 values.
                float* block = edge + 8 * 16;
                for (int q = 0; q < 16; q += 8)
                {
                    GemmPacking.Transpose8x8(edge + q, 16, block, 8);
                    for (int j = 0; j < 8; j++)
                    {
                        float* dst = c + (long)(q + j) * _ldc, src = block + j * 8;
                        Vector128<float> v = Vector128.Load(src);
                        float v4 = src[4], v5 = src[5];
                        if (add)
                        {
                            v = Vector128.Load(dst) + v;
                            v4 = dst[4] + v4;
                            v5 = dst[5] + v5;
                        }
                        v.Store(dst);
                        dst[4] = v4;
                        dst[5] = v5;
                    }
                }
                return;
            }
            for (int i = 0; i < mr; i++)
                for (int j = 0; j < nr; j++)
                {
                    float* dst = c + (long)j * _ldc + i;
                    *dst = add ? *dst + edge[i * _nr + j] : edge[i * _nr + j];
                }
        }

        /// <summary>The valid mr×nr part of a padded edge tile (row stride NR) into C, added or stored.</summary>
        private void CopyEdge(float* edge, float* cTile, int mr, int nr, bool add)
        {
            for (int i = 0; i < mr; i++)
                for (int j = 0; j < nr; j++)
                    cTile[(long)i * _ldc + j] = add ? cTile[(long)i * _ldc + j] + edge[i * _nr + j] : edge[i * _nr + j];
        }
    }
}

/// <summary>Which operands a GEMM's 8×32 kernel reads where they lie, unpacked (edge strips and panels are still packed).</summary>
[Flags]
internal enum InPlace
{
    None = 0,
    /// <summary>A stored K×M (transposed): the 8 rows of a K step are contiguous.</summary>
    A = 1,
    /// <summary>B stored K×N: the 32 columns of a K step are contiguous.</summary>
    B = 2,
}

/// <summary>Which register-blocked micro-kernel a GEMM uses.</summary>
internal enum GemmKernelKind
{
    /// <summary>8×32 tile in 16 Vector512 accumulators (AVX-512).</summary>
    Vector512,
    /// <summary>6×16 tile in 12 Vector256 accumulators (AVX2/FMA).</summary>
    Vector256,
    /// <summary>6×8 tile in 12 Vector128 accumulators: x86 without AVX (16 XMM registers, no FMA).</summary>
    Vector128,
    /// <summary>8×8 tile in 16 Vector128 accumulators: ARM64 (32 vector registers, FMA).</summary>
    Vector128Arm64,
    /// <summary>4×4 scalar tile for machines without usable vectors.</summary>
    Scalar,
}
