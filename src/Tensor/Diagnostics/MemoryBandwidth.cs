using System.Diagnostics;

namespace NanoNet.Diagnostics;

/// <summary>
/// Measures the memory bandwidth a streaming kernel gets on this machine: a copy between two 64 MB buffers, split
/// across the workers as NanoNet's kernels split their work. The memory-bound ops (pooling, activations, Dropout,
/// embedding, optimizer updates) are quoted against it, as the GEMM-bearing ones are against <see cref="FmaPeak"/>.
/// </summary>
/// <remarks>
/// <para>Why 64 MB: twice the 32 MB L3 of the machines this was tuned on, so the copy streams from and to DRAM, which is what
/// "memory bandwidth" means. An op whose operands are still in L2 or L3 (a 4 MB activation the previous op just
/// wrote) can run above 100% of it; on the 2-core Zen 4 VM this was measured on, an 8 MB copy ran at 63–68 GB/s on
/// one core against 26 GB/s for this one. Bytes are counted as a kernel counts them: 64 MB read plus 64 MB written.</para>
/// <para>The figure depends on the thread count (a second core adds bandwidth up to the memory system's limit), so
/// it is measured once per thread count, the first time a report needs it (about 50 ms, 128 MB held meanwhile).</para>
/// </remarks>
public static class MemoryBandwidth
{
    private const int Floats = 16 << 20; // 64 MB of floats per buffer
    private static readonly Dictionary<int, double> s_measured = [];

    /// <summary>GB/s of the copy probe at <paramref name="threads"/> workers: best of several copies (measured once per count).</summary>
    public static double MeasureGBps(int threads)
    {
        lock (s_measured)
        {
            if (s_measured.TryGetValue(threads, out double known))
                return known;
            float[] source = GC.AllocateUninitializedArray<float>(Floats, pinned: true);
            float[] target = GC.AllocateUninitializedArray<float>(Floats, pinned: true);
            source.AsSpan().Fill(1f);
            target.AsSpan().Clear();
            double best = 0;
            using (Parallelism.LimitThreads(threads))
            {
                for (int attempt = 0; attempt < 5; attempt++)
                {
                    long start = Stopwatch.GetTimestamp();
                    ParallelCopy.Copy(source, target);
                    double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                    best = Math.Max(best, 2.0 * Floats * sizeof(float) / seconds / 1e9);
                }
            }
            return s_measured[threads] = best;
        }
    }

    /// <summary>The probe's copy: contiguous shares of the span, one per worker.</summary>
    private static unsafe class ParallelCopy
    {
        [ThreadStatic] private static CopyJob? t_job;

        public static void Copy(float[] source, float[] target)
        {
            fixed (float* from = source, to = target)
            {
                var job = t_job ??= new CopyJob();
                (job.Source, job.Target, job.Length) = ((nint)from, (nint)to, source.Length);
                Parallelism.Run(job, Parallelism.CurrentMaxThreads);
            }
        }

        private sealed class CopyJob : ParallelJob
        {
            public nint Source, Target;
            public int Length;

            public override void RunWorker(int worker, int workerCount)
            {
                int first = (int)((long)Length * worker / workerCount), end = (int)((long)Length * (worker + 1) / workerCount);
                new ReadOnlySpan<float>((float*)Source + first, end - first).CopyTo(new Span<float>((float*)Target + first, end - first));
            }
        }
    }
}
