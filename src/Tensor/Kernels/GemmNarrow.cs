using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NanoNet.Kernels;

/// <summary>
/// GEMMs whose C is narrower than the AVX-512 micro-tile (N &lt; 32: a classifier's 10-wide output layer, its weight
/// gradient, a 2-class head): 8 rows of C at a time in one or two 16-lane vectors per row, B's rows read where they lie
/// with masked loads, A broadcast where it lies; nothing packed.
/// </summary>
/// <remarks>
/// <para>Shape legend: C is M×N (N &lt; 32, M ≥ 8, row stride ldc), op(A) is M×K (A stored M×K, or K×M when
/// transposed, stride lda), B is K×N row-major (stride ldb). A tile is 8 rows × V vectors (V = 1 for N ≤ 16, else 2),
/// 8·V accumulators; lanes at and beyond N are masked off in every load of B and every load and store of C.</para>
/// <para>Why: the packed path pads B to one 32-column panel and runs the 8×32 tile, so at N = 10 22 of every 32 lanes
/// multiply zeros, and it packs the panel (K×32 floats) for a product that uses each element of B M times at most:
/// the Keras model's 32×512·512×10 output layer took 11.5 µs (28 GFLOP/s), its weight gradient 512×32·32×10 12.5 µs;
/// here 3.3 and 4.0 (`gemm-time`, benchmarks/README.md, twenty-seventh sitting).</para>
/// <para>Same bits as the packed path: each element of C sums each K slab (<see cref="Gemm.KC"/>, or the whole K when
/// A is not transposed: <see cref="Gemm.SinglePanelSlab"/>, as the direct-A kernel the packed path then runs) the way
/// the micro-kernel does (from zero, one FMA per p in order, then stored, or added to C when accumulating or past the
/// first slab). A row's bits do not depend on its tile, so neither do they on the number of workers.</para>
/// </remarks>
internal static unsafe class GemmNarrow
{
    /// <summary>Off in tests that compare with the packed path.</summary>
    internal static bool Enabled = true;

    /// <summary>Whether a product takes this path: the AVX-512 kernel, N &lt; 32, at least one 8-row tile, B stored K×N unpacked.</summary>
    public static bool Applies(GemmKernelKind kind, int m, int n, bool transB, bool packedB) =>
        Enabled && kind == GemmKernelKind.Vector512 && n < 32 && m >= Rows && !transB && !packedB && Avx512F.IsSupported;

    /// <summary>Rows of C per tile.</summary>
    private const int Rows = 8;

    /// <summary>C (+)= op(A)·B on <paramref name="threads"/> workers (tiles of rows split between them).</summary>
    public static void Multiply(bool transA, int m, int n, int k, float* a, int lda, float* b, int ldb, float* c, int ldc,
        bool accumulate, int threads)
    {
        int tiles = (m + Rows - 1) / Rows;
        int workers = Math.Min(threads, tiles);
        if (workers <= 1)
        {
            MultiplyRows(transA, 0, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
            return;
        }
        var job = t_job ??= new NarrowJob();
        (job.TransA, job.M, job.N, job.K, job.Lda, job.Ldb, job.Ldc, job.Accumulate) = (transA, m, n, k, lda, ldb, ldc, accumulate);
        job.A = a;
        job.B = b;
        job.C = c;
        Parallelism.Run(job, workers);
        job.A = job.B = job.C = null;
    }

    [ThreadStatic] private static NarrowJob? t_job;

    /// <summary>Worker w takes the w-th contiguous share of the 8-row tiles.</summary>
    private sealed class NarrowJob : ParallelJob
    {
        public bool TransA, Accumulate;
        public int M, N, K, Lda, Ldb, Ldc;
        public float* A, B, C;

        public override void RunWorker(int worker, int workerCount)
        {
            int tiles = (M + Rows - 1) / Rows;
            int first = (int)((long)tiles * worker / workerCount) * Rows, end = Math.Min(M, (int)((long)tiles * (worker + 1) / workerCount) * Rows);
            if (first < end)
                MultiplyRows(TransA, first, end, N, K, A, Lda, B, Ldb, C, Ldc, Accumulate);
        }
    }

    /// <summary>Rows [<paramref name="first"/>, <paramref name="end"/>) of C, slab by slab, tile by tile.</summary>
    private static void MultiplyRows(bool transA, int first, int end, int n, int k, float* a, int lda, float* b, int ldb,
        float* c, int ldc, bool accumulate)
    {
        // Lane j of a vector is column j (first vector) or 16 + j (second); masked off from column N on.
        Vector512<float> mask0 = LanesBelow(n), mask1 = LanesBelow(n - 16);
        float** rows = stackalloc float*[Rows];
        long aStep = transA ? lda : 1; // op(A)[i, p] = rows[i][p·aStep]
        int slab = Gemm.SinglePanelSlab(transA, n, k);
        for (int pc = 0; pc < k; pc += slab)
        {
            int kc = Math.Min(slab, k - pc);
            bool add = accumulate || pc > 0;
            for (int i = first; i < end; i += Rows)
            {
                int valid = Math.Min(Rows, end - i);
                // A partial tile repeats its first row in the missing ones (valid memory; their results are not stored).
                for (int r = 0; r < Rows; r++)
                {
                    int row = i + (r < valid ? r : 0);
                    rows[r] = transA ? a + (long)pc * lda + row : a + (long)row * lda + pc;
                }
                if (n <= 16)
                    Tile1(kc, rows, aStep, b + (long)pc * ldb, ldb, mask0, c + (long)i * ldc, ldc, valid, add);
                else
                    Tile2(kc, rows, aStep, b + (long)pc * ldb, ldb, mask1, c + (long)i * ldc, ldc, valid, add);
            }
        }
    }

    /// <summary>All-ones in lanes 0..count−1 (none when count ≤ 0, all when count ≥ 16): the mask of a row's last columns.</summary>
    internal static Vector512<float> LanesBelow(int count) =>
        Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(count)).AsSingle();

    /// <summary>8 rows × one masked vector (N ≤ 16): 8 FMA chains over the slab's kc rows of B.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile1(int kc, float** rows, long aStep, float* b, int ldb, Vector512<float> mask, float* c, int ldc, int valid, bool add)
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        float* a0 = rows[0], a1 = rows[1], a2 = rows[2], a3 = rows[3], a4 = rows[4], a5 = rows[5], a6 = rows[6], a7 = rows[7];
        long at = 0;
        for (int p = 0; p < kc; p++, b += ldb, at += aStep)
        {
            Vector512<float> bp = Avx512F.MaskLoad(b, mask, Vector512<float>.Zero);
            c0 = Vector512.FusedMultiplyAdd(Vector512.Create(a0[at]), bp, c0);
            c1 = Vector512.FusedMultiplyAdd(Vector512.Create(a1[at]), bp, c1);
            c2 = Vector512.FusedMultiplyAdd(Vector512.Create(a2[at]), bp, c2);
            c3 = Vector512.FusedMultiplyAdd(Vector512.Create(a3[at]), bp, c3);
            c4 = Vector512.FusedMultiplyAdd(Vector512.Create(a4[at]), bp, c4);
            c5 = Vector512.FusedMultiplyAdd(Vector512.Create(a5[at]), bp, c5);
            c6 = Vector512.FusedMultiplyAdd(Vector512.Create(a6[at]), bp, c6);
            c7 = Vector512.FusedMultiplyAdd(Vector512.Create(a7[at]), bp, c7);
        }
        StoreMasked(c, mask, c0, add);
        if (valid > 1) StoreMasked(c + ldc, mask, c1, add);
        if (valid > 2) StoreMasked(c + 2L * ldc, mask, c2, add);
        if (valid > 3) StoreMasked(c + 3L * ldc, mask, c3, add);
        if (valid > 4) StoreMasked(c + 4L * ldc, mask, c4, add);
        if (valid > 5) StoreMasked(c + 5L * ldc, mask, c5, add);
        if (valid > 6) StoreMasked(c + 6L * ldc, mask, c6, add);
        if (valid > 7) StoreMasked(c + 7L * ldc, mask, c7, add);
    }

    /// <summary>8 rows × two vectors (16 &lt; N &lt; 32): the first 16 columns whole, the rest masked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile2(int kc, float** rows, long aStep, float* b, int ldb, Vector512<float> mask, float* c, int ldc, int valid, bool add)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        float* a0 = rows[0], a1 = rows[1], a2 = rows[2], a3 = rows[3], a4 = rows[4], a5 = rows[5], a6 = rows[6], a7 = rows[7];
        long at = 0;
        for (int p = 0; p < kc; p++, b += ldb, at += aStep)
        {
            Vector512<float> b0 = Vector512.Load(b), b1 = Avx512F.MaskLoad(b + 16, mask, Vector512<float>.Zero);
            Vector512<float> ai = Vector512.Create(a0[at]);
            c00 = Vector512.FusedMultiplyAdd(ai, b0, c00); c01 = Vector512.FusedMultiplyAdd(ai, b1, c01);
            ai = Vector512.Create(a1[at]);
            c10 = Vector512.FusedMultiplyAdd(ai, b0, c10); c11 = Vector512.FusedMultiplyAdd(ai, b1, c11);
            ai = Vector512.Create(a2[at]);
            c20 = Vector512.FusedMultiplyAdd(ai, b0, c20); c21 = Vector512.FusedMultiplyAdd(ai, b1, c21);
            ai = Vector512.Create(a3[at]);
            c30 = Vector512.FusedMultiplyAdd(ai, b0, c30); c31 = Vector512.FusedMultiplyAdd(ai, b1, c31);
            ai = Vector512.Create(a4[at]);
            c40 = Vector512.FusedMultiplyAdd(ai, b0, c40); c41 = Vector512.FusedMultiplyAdd(ai, b1, c41);
            ai = Vector512.Create(a5[at]);
            c50 = Vector512.FusedMultiplyAdd(ai, b0, c50); c51 = Vector512.FusedMultiplyAdd(ai, b1, c51);
            ai = Vector512.Create(a6[at]);
            c60 = Vector512.FusedMultiplyAdd(ai, b0, c60); c61 = Vector512.FusedMultiplyAdd(ai, b1, c61);
            ai = Vector512.Create(a7[at]);
            c70 = Vector512.FusedMultiplyAdd(ai, b0, c70); c71 = Vector512.FusedMultiplyAdd(ai, b1, c71);
        }
        Store2(c, mask, c00, c01, add);
        if (valid > 1) Store2(c + ldc, mask, c10, c11, add);
        if (valid > 2) Store2(c + 2L * ldc, mask, c20, c21, add);
        if (valid > 3) Store2(c + 3L * ldc, mask, c30, c31, add);
        if (valid > 4) Store2(c + 4L * ldc, mask, c40, c41, add);
        if (valid > 5) Store2(c + 5L * ldc, mask, c50, c51, add);
        if (valid > 6) Store2(c + 6L * ldc, mask, c60, c61, add);
        if (valid > 7) Store2(c + 7L * ldc, mask, c70, c71, add);
    }

    /// <summary>A row's masked lanes stored, or added to what C holds (sum + C, as the micro-kernel adds); the other lanes of C untouched.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StoreMasked(float* c, Vector512<float> mask, Vector512<float> sum, bool add)
    {
        if (add)
            sum += Avx512F.MaskLoad(c, mask, Vector512<float>.Zero);
        Avx512F.MaskStore(c, mask, sum);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store2(float* c, Vector512<float> mask, Vector512<float> low, Vector512<float> high, bool add)
    {
        if (add)
            low += Vector512.Load(c);
        low.Store(c);
        StoreMasked(c + 16, mask, high, add);
    }
}
