using System.Diagnostics;
using NanoNet.Data;
using NanoNet.Layers;

namespace NanoNet.Tests;

/// <summary>How the allocation tests measure a steady training step: the bytes it allocates.</summary>
internal static class StepAllocation
{
    /// <summary>
    /// Bytes one steady training step of the compiled <paramref name="model"/> allocates at <paramref name="threads"/>
    /// threads: the mean of 20 steps after 3 warm-up steps (10 at several threads). At one thread the step runs on this thread, and this
    /// thread's count is taken. At more, the whole process's (the kernels' worker threads allocate too: their scratch
    /// buffers once did, megabytes a step, unseen by the calling thread's count), in the smallest of three such windows:
    /// a one-time allocation elsewhere in the process (a worker thread starting up, the test host reporting earlier
    /// results on its own threads: once 1,392 B a step in one window of a CI run) is not a per-step one, while a real
    /// per-step allocation shows in every window; and less what the process allocates while idle for as long (the
    /// smallest of three such waits), the host's steady background.
    /// </summary>
    public static long BytesPerStep(Model model, Dataset batch, int threads = 1) =>
        Measure(model, batch, threads).BytesPerStep;

    /// <summary><see cref="BytesPerStep"/>, and the number of gen-2 collections during the measured steps.</summary>
    public static (long BytesPerStep, int GenerationTwoCollections) Measure(Model model, Dataset batch, int threads = 1)
    {
        int saved = Parallelism.MaxThreads;
        Parallelism.MaxThreads = threads;
        try
        {
            // Process-wide counts also see the runtime finishing its work on the new code (tiered compilation runs on
            // a background thread), so they get a longer warm-up.
            for (int i = 0, warmup = threads > 1 ? 10 : 3; i < warmup; i++)
                model.TrainStep(batch);
            // Settle the heap the earlier tests left: a background gen-2 collection they started (or the model's own large
            // set-up allocations) must not finish inside the measured steps and be counted as theirs. A step that does
            // allocate enough to need a gen-2 collection still gets one below (the scratch-buffer churn got 7-12 in 20 steps).
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            int collections = GC.CollectionCount(2);
            if (threads == 1)
                return (Window(model, batch, threads).Bytes / Steps, GC.CollectionCount(2) - collections);
            // Process-wide, the test host's own threads allocate all along (about 1.3 KB a second here): at 2 threads
            // with 128-bit kernels (145 ms steps) that was 185 B a step in every window, and the same bytes in an idle
            // wait as long as the window. So each window is followed by such a wait, and the smallest idle count (a low,
            // conservative estimate of the background) is taken off the smallest window.
            long steps = long.MaxValue, idle = long.MaxValue;
            for (int window = 0; window < ProcessWideWindows; window++)
            {
                (long bytes, TimeSpan elapsed) = Window(model, batch, threads);
                steps = Math.Min(steps, bytes);
                idle = Math.Min(idle, IdleAllocation(elapsed));
            }
            return (Math.Max(0, steps - idle) / Steps, GC.CollectionCount(2) - collections);
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    private const int ProcessWideWindows = 3;
    private const int Steps = 20;

    /// <summary>The bytes allocated over <see cref="Steps"/> training steps, and how long they took.</summary>
    private static (long Bytes, TimeSpan Elapsed) Window(Model model, Dataset batch, int threads)
    {
        long before = Allocated(threads);
        long started = Stopwatch.GetTimestamp();
        for (int i = 0; i < Steps; i++)
            model.TrainStep(batch);
        return (Allocated(threads) - before, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>The bytes the whole process allocates while this thread waits for <paramref name="duration"/> (no step running).</summary>
    private static long IdleAllocation(TimeSpan duration)
    {
        long before = GC.GetTotalAllocatedBytes(precise: true);
        Thread.Sleep(duration);
        return GC.GetTotalAllocatedBytes(precise: true) - before;
    }

    private static long Allocated(int threads) =>
        threads == 1 ? GC.GetAllocatedBytesForCurrentThread() : GC.GetTotalAllocatedBytes(precise: true);
}
