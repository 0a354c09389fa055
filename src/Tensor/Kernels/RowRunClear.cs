using NanoNet.Autograd;

namespace NanoNet.Kernels;

/// <summary>
/// Zero-fills the touched rows of an embedding's gradient (<see cref="GradientRows"/>), run by run, asking for the
/// lines of a run a few runs ahead so that their memory latencies overlap; many rows are split over the workers.
/// </summary>
/// <remarks>
/// <para>Shape legend: the gradient is rows × width; the touched rows come as runs of consecutive rows. The rows of a
/// large table (20,000×128: 10 MB) are scattered through memory, and after a training step they are no longer
/// in cache: cleared one after the other, each run waits for its first line to arrive before the next one starts.</para>
/// <para>On several workers, worker w clears the w-th equal share of the touched rows by cost (each run of rows weighs
/// <see cref="RunCost"/> plus its elements, <see cref="GradientRows.RowAtCost"/>): the share the optimizer's fused update
/// of those rows gave the same worker just before (FusedUpdate splits the same runs at the same costs), so each worker
/// clears lines its own core holds. One worker clearing them all read half of them from the other core: text-train at
/// 2 threads spent 0.32 ms a step here against 0.11–0.14 ms at 1. Split by count after the update had come to split
/// by cost, IMDB's caller cleared in 11.5 µs what took the helper 57.6 (benchmarks/README.md, twenty-ninth sitting).</para>
/// </remarks>
internal static unsafe class RowRunClear
{
    /// <summary>How many runs ahead the lines are requested.</summary>
    private const int Distance = 4;

    /// <summary>
    /// Below this many floats to clear, one worker: the size from which the optimizer's fused update splits touched rows
    /// over the workers (<c>FusedUpdate.ScatteredParallelThreshold</c> in NanoNet.Optim; a test holds them equal), so
    /// below it the caller clears the rows it updated itself.
    /// </summary>
    internal const int ParallelThreshold = 1 << 16;

    /// <summary>
    /// What starting a run of rows costs, in elements: the optimizer's fused update weighs its ranges the same
    /// (<c>FusedUpdate.RangeCost</c> in NanoNet.Optim; a test holds them equal).
    /// </summary>
    internal const int RunCost = 1024;

    public static void Clear(Span<float> gradient, GradientRows rows, int width)
    {
        int workers = Parallelism.CurrentMaxThreads;
        if (workers == 1 || (long)rows.Count * width < ParallelThreshold)
        {
            ClearShare(gradient, rows, width, 0, rows.RowCount);
            return;
        }
        fixed (float* g = gradient)
        {
            var job = t_job ??= new ClearJob();
            (job.Gradient, job.Length, job.Rows, job.Width) = ((nint)g, gradient.Length, rows, width);
            job.TotalCost = rows.Cost(width, RunCost);
            Parallelism.Run(job, workers);
            job.Rows = null;
        }
    }

    /// <summary>Clears the touched rows in [<paramref name="firstRow"/>, <paramref name="endRow"/>).</summary>
    private static void ClearShare(Span<float> gradient, GradientRows rows, int width, int firstRow, int endRow)
    {
        int ahead = firstRow; // the row the look-ahead continues from
        for (int k = 0; k < Distance && NextRun(rows, ahead, endRow, out int start, out int count); k++)
        {
            CacheLines.Prefetch(gradient, start * width, count * width);
            ahead = start + count;
        }
        for (int row = firstRow; NextRun(rows, row, endRow, out int start, out int count); row = start + count)
        {
            if (NextRun(rows, ahead, endRow, out int nextStart, out int nextCount))
            {
                CacheLines.Prefetch(gradient, nextStart * width, nextCount * width);
                ahead = nextStart + nextCount;
            }
            gradient.Slice(start * width, count * width).Clear();
        }
    }

    /// <summary>The next run of touched rows at or after <paramref name="from"/>, cut at <paramref name="endRow"/>.</summary>
    private static bool NextRun(GradientRows rows, int from, int endRow, out int start, out int count)
    {
        if (from >= endRow || !rows.NextRun(from, out start, out count) || start >= endRow)
        {
            start = endRow;
            count = 0;
            return false;
        }
        count = Math.Min(count, endRow - start);
        return true;
    }

    [ThreadStatic] private static ClearJob? t_job;

    /// <summary>Worker w: the touched rows from the cost TotalCost·w/W to TotalCost·(w+1)/W.</summary>
    private sealed class ClearJob : ParallelJob
    {
        public nint Gradient;
        public int Length, Width;
        public long TotalCost;
        public GradientRows? Rows;

        public override void RunWorker(int worker, int workerCount)
        {
            GradientRows rows = Rows!;
            int firstRow = rows.ShareStart(worker, workerCount, TotalCost, Width, RunCost);
            int endRow = rows.ShareStart(worker + 1, workerCount, TotalCost, Width, RunCost);
            ClearShare(new Span<float>((float*)Gradient, Length), rows, Width, firstRow, endRow);
        }
    }
}
