using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NanoNet.Kernels;

/// <summary>
/// GEMMs with fewer rows than the micro-tile (M &lt; 8 on AVX-512, M &lt; 6 on AVX2: one sample through a Dense layer, an
/// LSTM step at batch 1): a row at a time, B read where it lies (row-major, or a <see cref="PackedMatrix"/>), nothing packed.
/// </summary>
/// <remarks>
/// <para>Shape legend: C is M×N (M &lt; 8), op(A) is M×K, B is K×N row-major (leading dimension ldb) or packed
/// (slabs of KC rows, each of N′/32 panels of kc×32, N′ = N rounded up to 32). A row of C is cut into 32-column
/// strips, four strips (8 accumulators) at a time, and the last N mod 32 columns in two masked vectors. On AVX2 the
/// strips are the 6×16 kernel's 16 columns (two Vector256) and its panels kc×16 (GemmRows.Vector256.cs).</para>
/// <para>Packing B for one row of A copied a whole weight matrix per call (a 7200×128 Dense: 3.7 MB) to use
/// each element once; the 8×32 tile then also spent 7/8 of its FMAs on zero rows.</para>
/// <para>Same bits as the packed path: each element of C sums its K slab (<see cref="Gemm.KC"/>, or
/// <see cref="Gemm.SinglePanelSlab"/> where that path runs the direct-A kernel: N ≤ 32, A not transposed) the way the
/// micro-kernel does (from zero, one FMA per p in order, then added to C when accumulating or past the first slab).</para>
/// <para>A B too big to stay in L2 (the 7200×128 Dense: 3.7 MB) is streamed from L3 or memory at a few bytes per FMA, so
/// one core's bandwidth bounds the product. On several threads each worker then takes its own 32-column strips of every
/// row of B (<see cref="ColumnsJob"/>): the bytes split, the bits do not change (a column's chain is the same on any
/// worker). On the Emerald Rapids VM one sample's 7200×128 product took 0.147–0.160 ms on one thread at ~24 GB/s
/// (benchmarks/README.md, thirty-first sitting).</para>
/// </remarks>
internal static unsafe partial class GemmRows
{
    /// <summary>Whether a product takes this path: fewer rows than the kernel's tile (8 on AVX-512, 6 on AVX2 + FMA), B
    /// not stored transposed.</summary>
    public static bool Applies(GemmKernelKind kind, int m, bool transB) => !transB && kind switch
    {
        GemmKernelKind.Vector512 => m < 8 && Avx512F.IsSupported,
        GemmKernelKind.Vector256 => m < 6 && Avx2.IsSupported && Fma.IsSupported,
        _ => false,
    };

    /// <summary>Columns of a strip: the kernel's NR (the packed panels' width).</summary>
    private static int StripColumns(GemmKernelKind kind) => kind == GemmKernelKind.Vector512 ? 32 : 16;

    /// <summary>C (+)= op(A)·B; B is <paramref name="b"/> (K×N, ldb) or, when not null, <paramref name="packed"/>
    /// (packed for <paramref name="kind"/>).</summary>
    public static void Multiply(GemmKernelKind kind, bool transA, int m, int n, int k, float* a, int lda, float* b, int ldb, float* packed,
        float* c, int ldc, bool accumulate)
    {
        int width = StripColumns(kind), strips = (n + width - 1) / width;
        int workers = (long)k * n * sizeof(float) > Gemm.HalfL2Bytes ? Parallelism.WorkersFor(strips) : 1;
        if (workers > 1)
        {
            ColumnsJob job = t_job ??= new ColumnsJob();
            (job.Kind, job.TransA, job.M, job.N, job.K, job.Lda, job.Ldb, job.Ldc, job.Accumulate) = (kind, transA, m, n, k, lda, ldb, ldc, accumulate);
            job.A = a; job.B = b; job.Packed = packed; job.C = c;
            Parallelism.Run(job, workers);
            job.A = job.B = job.Packed = job.C = null;
            return;
        }
        MultiplyColumns(kind, transA, m, n, 0, n, k, a, lda, b, ldb, packed, c, ldc, accumulate);
    }

    [ThreadStatic] private static ColumnsJob? t_job;

    /// <summary>
    /// Columns [<paramref name="first"/>, <paramref name="end"/>) of C (+)= op(A)·B on the calling thread, the bits those
    /// columns get from <see cref="Multiply"/> (a column's chain is the same whichever columns share the call): for a caller
    /// that splits the columns over its own workers (an LSTM step at batch 1, <see cref="RecurrentStepJob"/>).
    /// <paramref name="first"/> must be a multiple of <see cref="StripColumns"/> (the packed panels' width).
    /// </summary>
    public static void MultiplyColumnRange(GemmKernelKind kind, bool transA, int m, int n, int first, int end, int k, float* a, int lda,
        float* b, int ldb, float* packed, float* c, int ldc, bool accumulate)
    {
        if (first % StripColumns(kind) != 0 || first < 0 || end > n || first > end)
            throw new ArgumentOutOfRangeException(nameof(first), first,
                $"GEMM rows: columns [{first}, {end}) of {n} must start on a {StripColumns(kind)}-column strip.");
        MultiplyColumns(kind, transA, m, n, first, end, k, a, lda, b, ldb, packed, c, ldc, accumulate);
    }

    /// <summary>Worker w of W: the strips [S·w/W, S·(w+1)/W) of every row of C (S = ⌈N/strip⌉), all of K.</summary>
    private sealed class ColumnsJob : ParallelJob
    {
        public GemmKernelKind Kind;
        public bool TransA, Accumulate;
        public int M, N, K, Lda, Ldb, Ldc;
        public float* A, B, Packed, C;

        public override void RunWorker(int worker, int workerCount)
        {
            int width = StripColumns(Kind), strips = (N + width - 1) / width;
            int first = width * (int)((long)strips * worker / workerCount);
            int end = Math.Min(N, width * (int)((long)strips * (worker + 1) / workerCount));
            if (first < end)
                MultiplyColumns(Kind, TransA, M, N, first, end, K, A, Lda, B, Ldb, Packed, C, Ldc, Accumulate);
        }
    }

    /// <summary>Columns [<paramref name="first"/>, <paramref name="end"/>) of C (<paramref name="first"/> a multiple of the strip).</summary>
    private static void MultiplyColumns(GemmKernelKind kind, bool transA, int m, int n, int first, int end, int k, float* a, int lda,
        float* b, int ldb, float* packed, float* c, int ldc, bool accumulate)
    {
        if (kind == GemmKernelKind.Vector256)
        {
            MultiplyColumns256(transA, m, n, first, end, k, a, lda, b, ldb, packed, c, ldc, accumulate);
            return;
        }
        int paddedN = PackedMatrix.PaddedColumns(n, 32);
        // The packed path's slabs: the whole K (up to a limit) where it runs the direct-A kernel, against one B panel (a
        // pre-packed single panel is K×32 in order: its KC slabs lie one after the other).
        bool wholeK = Gemm.SinglePanelSlab(transA, n, k) > Gemm.KC;
        if (wholeK && m > 1)
        {
            ChainedPanel(m, n, k, a, lda, packed != null ? packed : b, packed != null ? 32 : ldb, c, ldc, accumulate);
            return;
        }
        int slab = wholeK ? k : Gemm.KC;
        for (int pc = 0; pc < k; pc += slab)
        {
            int kc = Math.Min(slab, k - pc);
            bool add = accumulate || pc > 0;
            // Strip j of the slab: where its row p starts is strip + p·stride.
            int stride = packed != null ? 32 : ldb;
            float* Strip(int j) => packed != null ? packed + (long)pc * paddedN + (long)j * kc : b + (long)pc * ldb + j;
            for (int i = 0; i < m; i++)
            {
                float* aRow = transA ? a + (long)pc * lda + i : a + (long)i * lda + pc;
                int aStride = transA ? lda : 1;
                float* cRow = c + (long)i * ldc;
                int j = first;
                for (; j + 128 <= end; j += 128)
                    Row4x32(kc, aRow, aStride, Strip(j), Strip(j + 32), Strip(j + 64), Strip(j + 96), stride, cRow + j, add);
                for (; j + 64 <= end; j += 64)
                    Row4x32(kc, aRow, aStride, Strip(j), Strip(j + 32), null, null, stride, cRow + j, add);
                for (; j + 32 <= end; j += 32)
                    Row4x32(kc, aRow, aStride, Strip(j), null, null, null, stride, cRow + j, add);
                if (j < end) // the last end − j < 32 columns, in masked vectors
                    RowTail(kc, aRow, aStride, Strip(j), stride, cRow + j, end - j, add);
            }
        }
    }

    /// <summary>
    /// C (+)= A·B for 2 to 7 rows against one B panel of N ≤ 32 columns whose K is summed whole
    /// (<see cref="Gemm.SinglePanelSlab"/>): each row's two FMA chains run over all of K, but K chunk by KC-deep chunk,
    /// every row's chains parked in a small block between chunks (a stored and reloaded float keeps its bits), so that
    /// each chunk of B is read from L1 by every row instead of the whole panel from L2 once per row (4 × 2304 × 32: 0.027
    /// ms that way against 0.020 in KC slabs, and 0.020–0.021 chained; one row reads the panel once either way).
    /// </summary>
    private static void ChainedPanel(int m, int n, int k, float* a, int lda, float* b, int stride, float* c, int ldc, bool accumulate)
    {
        Vector512<float> mask0 = GemmNarrow.LanesBelow(n), mask1 = GemmNarrow.LanesBelow(n - 16);
        Vector512<float>* chains = stackalloc Vector512<float>[2 * 8]; // M < 8 rows, two vectors each
        for (int i = 0; i < 2 * m; i++)
            chains[i] = default;
        for (int pc = 0; pc < k; pc += Gemm.KC)
        {
            int kc = Math.Min(Gemm.KC, k - pc);
            for (int i = 0; i < m; i++)
                ContinueChains(kc, a + (long)i * lda + pc, 1, b + (long)pc * stride, stride, mask0, mask1, chains + 2 * i);
        }
        for (int i = 0; i < m; i++)
        {
            GemmNarrow.StoreMasked(c + (long)i * ldc, mask0, chains[2 * i], accumulate);
            GemmNarrow.StoreMasked(c + (long)i * ldc + 16, mask1, chains[2 * i + 1], accumulate);
        }
    }

    /// <summary>One row's two chains (<paramref name="chains"/>[0..1]) carried on over kc more K steps; B's lanes outside
    /// the masks loaded as zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ContinueChains(int kc, float* a, int aStride, float* b, int stride, Vector512<float> mask0, Vector512<float> mask1,
        Vector512<float>* chains)
    {
        Vector512<float> c0 = chains[0], c1 = chains[1];
        for (int p = 0; p < kc; p++, b += stride)
        {
            Vector512<float> ai = Vector512.Create(a[p * aStride]);
            c0 = Vector512.FusedMultiplyAdd(ai, Avx512F.MaskLoad(b, mask0, Vector512<float>.Zero), c0);
            c1 = Vector512.FusedMultiplyAdd(ai, Avx512F.MaskLoad(b + 16, mask1, Vector512<float>.Zero), c1);
        }
        chains[0] = c0;
        chains[1] = c1;
    }

    /// <summary>One row times one, two or four 32-column strips of B (null = absent: b1, or b2 and b3): 2 accumulators per strip.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Row4x32(int kc, float* a, int aStride, float* b0, float* b1, float* b2, float* b3, int stride, float* c, bool add)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
        if (b1 == null)
        {
            for (int p = 0; p < kc; p++, b0 += stride)
            {
                Vector512<float> ai = Vector512.Create(a[p * aStride]);
                c00 = Vector512.FusedMultiplyAdd(ai, Vector512.Load(b0), c00);
                c01 = Vector512.FusedMultiplyAdd(ai, Vector512.Load(b0 + 16), c01);
            }
            Store(c, c00, c01, add);
            return;
        }
        if (b2 == null)
        {
            for (int p = 0; p < kc; p++, b0 += stride, b1 += stride)
            {
                Vector512<float> ai = Vector512.Create(a[p * aStride]);
                c00 = Vector512.FusedMultiplyAdd(ai, Vector512.Load(b0), c00);
                c01 = Vector512.FusedMultiplyAdd(ai, Vector512.Load(b0 + 16), c01);
                c10 = Vector512.FusedMultiplyAdd(ai, Vector512.Load(b1), c10);
                c11 = Vector512.FusedMultiplyAdd(ai, Vector512.Load(b1 + 16), c11);
            }
            Store(c, c00, c01, add);
            Store(c + 32, c10, c11, add);
            return;
        }
        for (int p = 0; p < kc; p++, b0 += stride, b1 += stride, b2 += stride, b3 += stride)
        {
            Vector512<float> ai = Vector512.Create(a[p * aStride]);
            c00 = Vector512.FusedMultiplyAdd(ai, Vector512.Load(b0), c00);
            c01 = Vector512.FusedMultiplyAdd(ai, Vector512.Load(b0 + 16), c01);
            c10 = Vector512.FusedMultiplyAdd(ai, Vector512.Load(b1), c10);
            c11 = Vector512.FusedMultiplyAdd(ai, Vector512.Load(b1 + 16), c11);
            c20 = Vector512.FusedMultiplyAdd(ai, Vector512.Load(b2), c20);
            c21 = Vector512.FusedMultiplyAdd(ai, Vector512.Load(b2 + 16), c21);
            c30 = Vector512.FusedMultiplyAdd(ai, Vector512.Load(b3), c30);
            c31 = Vector512.FusedMultiplyAdd(ai, Vector512.Load(b3 + 16), c31);
        }
        Store(c, c00, c01, add);
        Store(c + 32, c10, c11, add);
        Store(c + 64, c20, c21, add);
        Store(c + 96, c30, c31, add);
    }

    /// <summary>
    /// One row times the last <paramref name="columns"/> (&lt; 32) columns of B: two accumulators whose lanes from
    /// <paramref name="columns"/> on are masked off in every load of B and every load and store of C.
    /// </summary>
    private static void RowTail(int kc, float* a, int aStride, float* b, int stride, float* c, int columns, bool add)
    {
        Vector512<float> mask0 = GemmNarrow.LanesBelow(columns), mask1 = GemmNarrow.LanesBelow(columns - 16);
        Vector512<float>* chains = stackalloc Vector512<float>[2];
        chains[0] = chains[1] = default;
        ContinueChains(kc, a, aStride, b, stride, mask0, mask1, chains);
        GemmNarrow.StoreMasked(c, mask0, chains[0], add);
        GemmNarrow.StoreMasked(c + 16, mask1, chains[1], add);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector512<float> lo, Vector512<float> hi, bool add)
    {
        if (add)
        {
            lo += Vector512.Load(c);
            hi += Vector512.Load(c + 16);
        }
        lo.Store(c);
        hi.Store(c + 16);
    }
}
