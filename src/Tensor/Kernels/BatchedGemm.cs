using System.Buffers;

namespace NanoNet.Kernels;

/// <summary>
/// Many GEMMs over the batch axes of (..., M, K)·(..., K, N) products, with NumPy-style broadcasting of the
/// batch axes: C[cItem[i]] (+)= op(P[pItem[i]])·op(Q[qItem[i]]) for every item i. The forward pass is one
/// contribution per C item; the backward passes sum several into one gradient item when its batch axes
/// were broadcast.
/// </summary>
/// <remarks>
/// <para>Shape legend: P holds items of op(P) M×K (stored M×K, or K×M when transposed: M·K floats each),
/// Q items of op(Q) K×N (N·K floats each), C items M×N; items are consecutive, row-major.
/// batch = the broadcast of the two operands' batch shapes; item i of the output is the i-th index of batch
/// in row-major order.</para>
/// <para>Work split: items are grouped by the C item they write; each C item's contributions run in
/// increasing i, each one a call to <see cref="Gemm.Multiply(bool, bool, int, int, int, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, Span{float}, int, bool)"/>.
/// Large items let the GEMM parallelise inside; small ones (below the GEMM's own threshold) are spread
/// across workers by C item instead. Either way every C element sees the same operations in the same order,
/// so results are bit-identical at any thread count.</para>
/// </remarks>
public static unsafe class BatchedGemm
{
    /// <summary>A product below this many flops runs on one thread inside the GEMM, so items go to workers instead.</summary>
    private const long SmallItemFlops = 1 << 17;

    /// <summary>
    /// The broadcast batch shape of <paramref name="batchA"/> and <paramref name="batchB"/> (aligned from the
    /// right; equal sizes match, size 1 stretches), or null when they do not broadcast.
    /// </summary>
    public static int[]? BroadcastShape(ReadOnlySpan<int> batchA, ReadOnlySpan<int> batchB)
    {
        var shape = new int[Math.Max(batchA.Length, batchB.Length)];
        return TryBroadcastShape(batchA, batchB, shape) ? shape : null;
    }

    /// <summary>
    /// <see cref="BroadcastShape"/> into <paramref name="shape"/> (of length max(rank A, rank B)), without an array:
    /// false when the batch shapes do not broadcast.
    /// </summary>
    public static bool TryBroadcastShape(ReadOnlySpan<int> batchA, ReadOnlySpan<int> batchB, Span<int> shape)
    {
        int rank = shape.Length;
        for (int d = 0; d < rank; d++)
        {
            int da = d < rank - batchA.Length ? 1 : batchA[d - (rank - batchA.Length)];
            int db = d < rank - batchB.Length ? 1 : batchB[d - (rank - batchB.Length)];
            if (da != db && da != 1 && db != 1)
                return false;
            shape[d] = da == 1 ? db : da;
        }
        return true;
    }

    /// <summary>
    /// items[i] = the item of an operand with batch shape <paramref name="operandBatch"/> that output item i
    /// (row-major over <paramref name="batch"/>) reads: broadcast axes (size 1, or missing) contribute nothing.
    /// </summary>
    public static void ItemMap(ReadOnlySpan<int> operandBatch, ReadOnlySpan<int> batch, Span<int> items)
    {
        int rank = batch.Length, offset = rank - operandBatch.Length;
        Span<int> stride = stackalloc int[rank];
        int step = 1;
        for (int d = rank - 1; d >= 0; d--)
        {
            int size = d < offset ? 1 : operandBatch[d - offset];
            stride[d] = size == 1 ? 0 : step;
            step *= size;
        }
        Span<int> index = stackalloc int[rank];
        int item = 0;
        for (int i = 0; i < items.Length; i++)
        {
            items[i] = item;
            for (int d = rank - 1; d >= 0; d--) // odometer
            {
                item += stride[d];
                if (++index[d] < batch[d])
                    break;
                item -= stride[d] * batch[d];
                index[d] = 0;
            }
        }
    }

    /// <summary>
    /// C[cItem[i]] (+)= op(P[pItem[i]])·op(Q[qItem[i]]) for i = 0..count−1. The first contribution to a C item
    /// overwrites it unless <paramref name="accumulate"/> is set; later ones always add.
    /// </summary>
    public static void MultiplyItems(bool transP, bool transQ, int m, int n, int k,
        ReadOnlySpan<float> p, ReadOnlySpan<int> pItem, ReadOnlySpan<float> q, ReadOnlySpan<int> qItem,
        Span<float> c, ReadOnlySpan<int> cItem, bool accumulate)
    {
        int count = pItem.Length;
        if (qItem.Length != count || cItem.Length != count)
            throw new ArgumentException($"BatchedGemm: {pItem.Length}, {qItem.Length} and {cItem.Length} item indices; they must match.");
        long pSize = (long)m * k, qSize = (long)k * n, cSize = (long)m * n;
        if (count == 0 || cSize == 0)
            return;
        int cItems = (int)(c.Length / cSize);
        for (int i = 0; i < count; i++)
            if ((uint)cItem[i] >= (uint)cItems || pItem[i] < 0 || qItem[i] < 0
                || (pItem[i] + 1L) * pSize > p.Length || (qItem[i] + 1L) * qSize > q.Length)
                throw new ArgumentException($"BatchedGemm: item {i} (P item {pItem[i]}, Q item {qItem[i]}, C item {cItem[i]}) is past the end of P ({p.Length} floats), Q ({q.Length}) or C ({c.Length}).");

        // Group the items by the C item they write (a stable counting sort: increasing i within a group).
        int[] start = ArrayPool<int>.Shared.Rent(cItems + 1), order = ArrayPool<int>.Shared.Rent(count);
        try
        {
            Array.Clear(start, 0, cItems + 1);
            foreach (int t in cItem)
                start[t + 1]++;
            for (int t = 0; t < cItems; t++)
                start[t + 1] += start[t];
            Span<int> next = cItems <= 1024 ? stackalloc int[cItems] : new int[cItems];
            start.AsSpan(0, cItems).CopyTo(next);
            for (int i = 0; i < count; i++)
                order[next[cItem[i]]++] = i;

            bool spread = 2L * m * n * k < SmallItemFlops && cItems > 1;
            fixed (float* pp = p, pq = q, pc = c)
            fixed (int* ppi = pItem, pqi = qItem, pStart = start, pOrder = order)
            {
                ItemsJob job = t_job ?? new ItemsJob();
                t_job = null; // a nested call (none today) gets its own
                (job.TransP, job.TransQ, job.Accumulate, job.M, job.N, job.K, job.CItems) = (transP, transQ, accumulate, m, n, k, cItems);
                job.P = pp; job.Q = pq; job.C = pc;
                job.PItem = ppi; job.QItem = pqi; job.Start = pStart; job.Order = pOrder;
                Parallelism.Run(job, spread ? Math.Min(Parallelism.CurrentMaxThreads, cItems) : 1);
                job.P = job.Q = job.C = null;
                t_job = job;
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(start);
            ArrayPool<int>.Shared.Return(order);
        }
    }

    [ThreadStatic] private static ItemsJob? t_job;

    /// <summary>Worker w writes the w-th contiguous range of C items, each from its contributions in order.</summary>
    private sealed class ItemsJob : ParallelJob
    {
        public bool TransP, TransQ, Accumulate;
        public int M, N, K, CItems;
        public float* P, Q, C;
        public int* PItem, QItem, Start, Order;

        public override void RunWorker(int worker, int workerCount)
        {
            int first = (int)((long)CItems * worker / workerCount), end = (int)((long)CItems * (worker + 1) / workerCount);
            int pSize = M * K, qSize = K * N, cSize = M * N;
            int ldp = TransP ? M : K, ldq = TransQ ? K : N;
            for (int t = first; t < end; t++)
                for (int at = Start[t]; at < Start[t + 1]; at++)
                {
                    int i = Order[at];
                    Gemm.Multiply(TransP, TransQ, M, N, K,
                        new ReadOnlySpan<float>(P + (long)PItem[i] * pSize, pSize), ldp,
                        new ReadOnlySpan<float>(Q + (long)QItem[i] * qSize, qSize), ldq,
                        new Span<float>(C + (long)t * cSize, cSize), N,
                        accumulate: Accumulate || at > Start[t]);
                }
        }
    }
}
