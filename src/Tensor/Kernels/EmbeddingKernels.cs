using System.Numerics.Tensors;
using NanoNet.Autograd;

namespace NanoNet.Kernels;

/// <summary>
/// Embedding lookup (gather) and its gradient (scatter-add) on spans.
/// </summary>
/// <remarks>
/// <para>Shape legend: P = number of token positions (e.g. N·T), V = vocabulary size, D = embedding
/// width. ids holds P integer ids, the table is V×D, y and dY are P×D.</para>
/// <para>The backward pass touches only the rows of the ids that occur (sparse accumulation), adds
/// position by position in order (so a repeated token sums its gradients in a fixed order and the
/// result is deterministic), and skips positions whose id equals the masked id.</para>
/// <para>Both passes use all workers on large batches: the gather splits the positions, the scatter
/// splits the table's rows (each worker scans every position but adds only into its own rows), so every
/// row still receives its gradients in position order. Given the gradient's touched rows, the scatter cuts them where
/// the optimizer's update of those rows and their clearing cut them (<see cref="GradientRows.ShareStart"/>), so each
/// worker adds into the rows its own core cleared after the last step and will update next.</para>
/// </remarks>
public static unsafe class EmbeddingKernels
{
    /// <summary>
    /// Converts float ids to ints, checking each is an integer in [0, vocabularySize).
    /// </summary>
    /// <exception cref="ArgumentException">An id is not an integer or is out of range; the message gives the id, its position and the vocabulary size.</exception>
    public static void ReadIds(ReadOnlySpan<float> source, Span<int> ids, int vocabularySize, int stepsPerRow)
    {
        for (int p = 0; p < source.Length; p++)
        {
            float v = source[p];
            int id = (int)v;
            if (id != v || (uint)id >= (uint)vocabularySize)
            {
                string where = stepsPerRow > 0 ? $"row {p / stepsPerRow}, position {p % stepsPerRow}" : $"position {p}";
                throw new ArgumentException(
                    $"Embedding: token id {v} at {where} is outside the vocabulary: ids must be integers in [0, {vocabularySize}) " +
                    $"for an embedding of {vocabularySize} rows (is the vocabulary larger than the layer's vocabSize?).");
            }
            ids[p] = id;
        }
    }

    /// <summary>y[p, :] = table[ids[p], :].</summary>
    public static void Gather(ReadOnlySpan<int> ids, ReadOnlySpan<float> table, Span<float> y, int dim)
    {
        if (ids.Length * dim < ParallelThreshold)
        {
            GatherRange(ids, table, y, dim, 0, ids.Length);
            return;
        }
        fixed (int* pid = ids)
        fixed (float* pt = table, py = y)
            Run(scatter: false, pid, ids.Length, pt, table.Length, py, dim, maskedId: -1);
    }

    /// <summary>
    /// dTable[ids[p], :] += dY[p, :] for every position p in order, except where ids[p] = <paramref name="maskedId"/>
    /// (pass −1 to mask nothing).
    /// </summary>
    public static void ScatterAdd(ReadOnlySpan<int> ids, ReadOnlySpan<float> dY, Span<float> dTable, int dim, int maskedId) =>
        ScatterAdd(ids, dY, dTable, dim, maskedId, touched: null);

    /// <summary>
    /// <see cref="ScatterAdd(ReadOnlySpan{int}, ReadOnlySpan{float}, Span{float}, int, int)"/> on several workers cut at the
    /// same rows as the update and the clearing of <paramref name="touched"/>, the gradient's touched rows (the ids
    /// scattered here among them), or at equal shares of the table's rows when it is null. Any cut gives the same sums:
    /// each row is added to by one worker, position by position.
    /// </summary>
    internal static void ScatterAdd(ReadOnlySpan<int> ids, ReadOnlySpan<float> dY, Span<float> dTable, int dim, int maskedId, GradientRows? touched)
    {
        if (ids.Length * dim < ParallelThreshold)
        {
            ScatterRange(ids, dY, dTable, dim, maskedId, 0, int.MaxValue);
            return;
        }
        fixed (int* pid = ids)
        fixed (float* pt = dTable, py = dY)
        {
            EmbeddingJob job = t_job ??= new EmbeddingJob();
            job.Touched = touched;
            job.TouchedCost = touched?.Cost(dim, RowRunClear.RunCost) ?? 0;
            try
            {
                Run(scatter: true, pid, ids.Length, pt, dTable.Length, py, dim, maskedId);
            }
            finally
            {
                job.Touched = null; // the job is kept per thread: it must not keep the rows alive
            }
        }
    }

    private const int ParallelThreshold = 1 << 16;

    private static void GatherRange(ReadOnlySpan<int> ids, ReadOnlySpan<float> table, Span<float> y, int dim, int from, int to)
    {
        for (int p = from; p < to; p++)
        {
            if (p + PrefetchDistance < to)
                CacheLines.Prefetch(table, ids[p + PrefetchDistance] * dim, dim);
            table.Slice(ids[p] * dim, dim).CopyTo(y.Slice(p * dim, dim));
        }
    }

    /// <summary>
    /// How many positions ahead the gather and the scatter ask for their table row. The rows of a large table are
    /// scattered in memory (a 20,000×128 table is 10 MB), so each row costs a memory latency; asking early lets
    /// several rows arrive at once instead of one after the other.
    /// </summary>
    private const int PrefetchDistance = 8;

    /// <summary>The scatter restricted to table rows [firstRow, endRow).</summary>
    private static void ScatterRange(ReadOnlySpan<int> ids, ReadOnlySpan<float> dY, Span<float> dTable, int dim, int maskedId, int firstRow, int endRow)
    {
        for (int p = 0; p < ids.Length; p++)
        {
            int id = ids[p];
            if (p + PrefetchDistance < ids.Length)
            {
                int ahead = ids[p + PrefetchDistance];
                if (ahead != maskedId && ahead >= firstRow && ahead < endRow)
                    CacheLines.Prefetch(dTable, ahead * dim, dim);
            }
            if (id == maskedId || id < firstRow || id >= endRow)
                continue;
            Span<float> row = dTable.Slice(id * dim, dim);
            TensorPrimitives.Add(row, dY.Slice(p * dim, dim), row);
        }
    }

    private static void Run(bool scatter, int* ids, int count, float* table, int tableLength, float* y, int dim, int maskedId)
    {
        var job = t_job ??= new EmbeddingJob();
        (job.Scatter, job.Ids, job.Count, job.Table, job.TableLength, job.Y, job.Dim, job.MaskedId) =
            (scatter, (nint)ids, count, (nint)table, tableLength, (nint)y, dim, maskedId);
        Parallelism.Run(job, Parallelism.CurrentMaxThreads);
    }

    [ThreadStatic] private static EmbeddingJob? t_job;

    private sealed class EmbeddingJob : ParallelJob
    {
        /// <summary>Where share <paramref name="share"/> of <paramref name="shares"/> of the table's rows starts.</summary>
        private int RowOfShare(int share, int shares, int rows) =>
            share >= shares ? rows
            : Touched is { } touched ? Math.Min(rows, touched.ShareStart(share, shares, TouchedCost, Dim, RowRunClear.RunCost))
            : (int)((long)rows * share / shares);

        public bool Scatter;
        /// <summary>The scatter's touched rows, cut by cost as <see cref="RowRunClear"/> cuts them (<see cref="GradientRows.ShareStart"/>), or null.</summary>
        public GradientRows? Touched;
        public long TouchedCost;
        public nint Ids, Table, Y;
        public int Count, TableLength, Dim, MaskedId;

        public override void RunWorker(int worker, int workerCount)
        {
            var ids = new ReadOnlySpan<int>((int*)Ids, Count);
            if (Scatter)
            {
                int rows = TableLength / Dim;
                int first = RowOfShare(worker, workerCount, rows), end = RowOfShare(worker + 1, workerCount, rows);
                ScatterRange(ids, new ReadOnlySpan<float>((float*)Y, Count * Dim), new Span<float>((float*)Table, TableLength), Dim, MaskedId, first, end);
            }
            else
            {
                int from = (int)((long)Count * worker / workerCount), to = (int)((long)Count * (worker + 1) / workerCount);
                GatherRange(ids, new ReadOnlySpan<float>((float*)Table, TableLength), new Span<float>((float*)Y, Count * Dim), Dim, from, to);
            }
        }
    }
}
