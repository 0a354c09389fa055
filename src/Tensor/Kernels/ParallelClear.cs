namespace NanoNet.Kernels;

/// <summary>Zero-fills a span, splitting a large one across the workers (clearing is memory-bound).</summary>
internal static unsafe class ParallelClear
{
    private const int ParallelThreshold = 1 << 18;

    public static void Clear(Span<float> values)
    {
        if (values.Length < ParallelThreshold || Parallelism.CurrentMaxThreads == 1)
        {
            values.Clear();
            return;
        }
        fixed (float* p = values)
        {
            var job = t_job ??= new ClearJob();
            (job.Start, job.Length) = ((nint)p, values.Length);
            Parallelism.Run(job, Parallelism.CurrentMaxThreads);
        }
    }

    [ThreadStatic] private static ClearJob? t_job;

    private sealed class ClearJob : ParallelJob
    {
        public nint Start;
        public int Length;

        public override void RunWorker(int worker, int workerCount)
        {
            int from = (int)((long)Length * worker / workerCount), to = (int)((long)Length * (worker + 1) / workerCount);
            new Span<float>((float*)Start + from, to - from).Clear();
        }
    }
}
