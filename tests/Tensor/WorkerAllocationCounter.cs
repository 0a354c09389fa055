namespace NanoNet.Tests;

/// <summary>
/// The bytes allocated so far by the threads that run NanoNet's kernels at <c>threads</c> workers: read in one parallel
/// region, worker 0 is the calling thread and worker k the pool's k-th helper (always the same thread), each reading its
/// own count. NanoNet starts no other threads, so the difference of two readings around some calls is exactly what those
/// calls allocated, whatever the test host's own threads allocate meanwhile. Read on the thread that makes the calls, with
/// <see cref="Parallelism.MaxThreads"/> at least <c>threads</c>; reading allocates nothing.
/// </summary>
internal sealed class WorkerAllocationCounter(int threads) : ParallelJob
{
    private readonly long[] _bytes = new long[threads];

    public long Read()
    {
        Array.Clear(_bytes);
        Parallelism.Run(this, threads);
        long total = 0;
        foreach (long bytes in _bytes)
            total += bytes;
        return total;
    }

    public override void RunWorker(int worker, int workerCount) => _bytes[worker] = GC.GetAllocatedBytesForCurrentThread();
}
