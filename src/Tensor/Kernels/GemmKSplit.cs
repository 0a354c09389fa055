using System.Numerics.Tensors;
using NanoNet.Memory;

namespace NanoNet.Kernels;

/// <summary>
/// Products with few rows, few columns and a long K — a Dense layer's forward on a large flattened input, such as
/// the CIFAR-10 seed model's 64×128×7200 — computed as <see cref="Pieces"/> partial products over fixed slices of K,
/// spread over the workers, then summed in order.
/// </summary>
/// <remarks>
/// <para>Shape legend: C is M×N, op(A) is M×K, op(B) is K×N. Piece j covers the K rows [K·j/8, K·(j+1)/8):
/// P_j = op(A)[:, piece]·op(B)[piece, :], an M×N partial product in scratch memory. C = P_0 + P_1 + … + P_7
/// (C + P_0 + … when accumulating).</para>
/// <para>Why: <see cref="Gemm"/> splits work over threads by output tiles. With one row block and 128 columns, two
/// workers get 64 columns each, and each streams all of op(A) (64×7200 floats, 1.8 MB) besides its half of op(B)
/// (3.7 MB in all): in a training step both come from L3 or memory, so the second thread added only 1.2–1.35x.
/// Split by K, each worker streams its own rows of op(B) and its own columns of op(A), once; measured at 2 threads
/// (best of 60, caches flushed between calls, Emerald Rapids): 0.85–0.89 ms by columns, 0.64–0.68 ms by K
/// (benchmarks/README.md, eleventh sitting).</para>
/// <para>Each piece is an ordinary <see cref="Gemm"/> call on one worker, which makes its cache choices (prefetching,
/// B read in place) for the whole product's size, as the unsplit call would.</para>
/// <para>The sum: once every piece is done (a barrier inside the region), worker w adds up its own band of C's rows,
/// rows [M·w/W, M·(w+1)/W), over the eight partial products. Done by the caller after the region, the sum was the
/// largest serial part left in the CIFAR-10 seed step at 2 threads (1.2% of the main thread's step samples under
/// <c>Ops.Linear</c>, 0.3% after; the step's serial share 3.4% → 2.2–2.6%), and the caller read every partial product
/// of the helper across the cores, whose next call then wrote lines the other core held. Split by rows, each worker
/// reads half of the other's partials, the two sides pay alike, and the caller's wait for the helper at the region's
/// end went from 6–71 to 3–6 µs (benchmarks/README.md, thirtieth sitting).</para>
/// <para>Determinism: the pieces depend on K only, each is computed on one thread, and every element of C adds its
/// partial products in piece order (whichever worker's band holds its row), so C is bitwise the same at any thread
/// count. It differs from the unsplit product within rounding: the K-sum is grouped in eight pieces instead of one
/// chain of KC slabs.</para>
/// </remarks>
internal static unsafe class GemmKSplit
{
    /// <summary>How many slices of K: enough to balance 1, 2, 4 or 8 workers, each piece at least 512 rows deep.</summary>
    public const int Pieces = 8;

    /// <summary>The shortest K split: 512 rows per piece, two whole KC slabs on every blocking in use.</summary>
    public const int MinimumK = Pieces * 512;

    /// <summary>The widest product split: four 32-column panels, where two workers' column tiles hold 64 columns each.</summary>
    public const int MaximumColumns = 128;

    /// <summary>The most rows: one row block of the 8×32 tile's 8 row panels, where B is also read in place.</summary>
    public const int MaximumRows = Gemm.InPlaceBMaxRows;

    /// <summary>Off only in tests and in-process comparisons.</summary>
    internal static bool Enabled = true;

    /// <summary>Whether a product is split by K: a rule on its shape only, so a product takes the same path at any thread count.</summary>
    public static bool Applies(int m, int n, int k) => Enabled && m <= MaximumRows && n <= MaximumColumns && k >= MinimumK;

    /// <summary>C (+)= op(A)·op(B) by K pieces (see the class remarks); the operands as <see cref="Gemm.Multiply(bool, bool, int, int, int, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, Span{float}, int, bool)"/>'s.</summary>
    public static void Multiply(GemmKernelKind kind, bool transA, bool transB, int m, int n, int k,
        float* a, int lda, float* b, int ldb, float* c, int ldc, bool accumulate, int threads)
    {
        int generation = ScratchBuffers.Generation;
        float[] partial = ScratchBuffers.Rent(Pieces * m * n);
        try
        {
            fixed (float* p = partial)
            {
                Job job = t_job ??= new Job();
                (job.Kind, job.TransA, job.TransB, job.M, job.N, job.K) = (kind, transA, transB, m, n, k);
                job.A = a; job.B = b; job.Partial = p; job.C = c;
                (job.Lda, job.Ldb, job.Ldc, job.Accumulate) = (lda, ldb, ldc, accumulate);
                Parallelism.Run(job, Math.Min(threads, Pieces));
                job.A = job.B = job.Partial = job.C = null;
            }
        }
        finally
        {
            ScratchBuffers.Return(partial, generation);
        }
    }

    [ThreadStatic] private static Job? t_job;

    /// <summary>
    /// Worker w computes the contiguous pieces [8w/W, 8(w+1)/W), each into its own partial product, then, once every
    /// worker's are done, its band of C's rows from all of them (<see cref="SumRows"/>).
    /// </summary>
    private sealed class Job : ParallelJob
    {
        public GemmKernelKind Kind;
        public bool TransA, TransB, Accumulate;
        public int M, N, K, Lda, Ldb, Ldc;
        public float* A, B, Partial, C;
        private readonly SpinBarrier _barrier = new();

        public override void RunWorker(int worker, int workerCount)
        {
            MultiplyPieces(worker, workerCount);
            if (workerCount > 1)
                _barrier.SignalAndWait(workerCount); // every partial product is in
            SumRows((int)((long)M * worker / workerCount), (int)((long)M * (worker + 1) / workerCount));
        }

        /// <summary>C[first..end) (+)= P_0 + P_1 + … + P_7, row by row, in piece order.</summary>
        private void SumRows(int first, int end)
        {
            for (int i = first; i < end; i++)
            {
                var row = new Span<float>(C + (long)i * Ldc, N);
                for (int piece = 0; piece < Pieces; piece++)
                {
                    var term = new ReadOnlySpan<float>(Partial + ((long)piece * M + i) * N, N);
                    if (piece == 0 && !Accumulate)
                        term.CopyTo(row);
                    else
                        TensorPrimitives.Add(row, term, row);
                }
            }
        }

        private void MultiplyPieces(int worker, int workerCount)
        {
            for (int piece = Pieces * worker / workerCount; piece < Pieces * (worker + 1) / workerCount; piece++)
            {
                int k0 = (int)((long)K * piece / Pieces), k1 = (int)((long)K * (piece + 1) / Pieces);
                // op(A)[:, k0..k1): columns of A, or rows of the stored Aᵀ; op(B)[k0..k1, :]: rows of B, or columns of the stored Bᵀ.
                float* a = TransA ? A + (long)k0 * Lda : A + k0;
                float* b = TransB ? B + k0 : B + (long)k0 * Ldb;
                Gemm.MultiplyPiece(Kind, TransA, TransB, M, N, k1 - k0, a, Lda, b, Ldb, Partial + (long)piece * M * N, N, K);
            }
        }
    }
}
