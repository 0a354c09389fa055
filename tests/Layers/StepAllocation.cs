using NanoNet.Data;
using NanoNet.Layers;

namespace NanoNet.Tests;

/// <summary>How the allocation tests measure a steady training step: the bytes it allocates.</summary>
internal static class StepAllocation
{
    /// <summary>
    /// Bytes one steady training step of the compiled <paramref name="model"/> allocates at <paramref name="threads"/>
    /// threads: the mean of 20 steps after 3 warm-up steps (10 at several threads), in the smallest of three such windows
    /// (a one-time allocation, such as a lazily built cache, is not a per-step one, while a real per-step allocation shows in
    /// every window). Counted on exactly the threads that run the step: this one and, at several threads, each helper of
    /// NanoNet's worker pool (the kernels' worker threads allocate too: their scratch buffers once did, megabytes a step,
    /// unseen by the calling thread's count). Not the whole process's count: the test host's own threads allocate all
    /// along (reporting results, timers), more or less by the host's load; subtracting an idle estimate of that once
    /// failed a CI run (204 B a step against a 128 B bound, reproduced here with busy loops on both cores).
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
            // At several threads a longer warm-up: each worker fills its per-thread caches (kernel jobs, interned
            // shapes) as it goes.
            for (int i = 0, warmup = threads > 1 ? 10 : 3; i < warmup; i++)
                model.TrainStep(batch);
            // Settle the heap the earlier tests left: a background gen-2 collection they started (or the model's own large
            // set-up allocations) must not finish inside the measured steps and be counted as theirs. A step that does
            // allocate enough to need a gen-2 collection still gets one below (the scratch-buffer churn got 7-12 in 20 steps).
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            int collections = GC.CollectionCount(2);
            var counter = new WorkerAllocationCounter(threads);
            long smallest = long.MaxValue;
            for (int window = 0; window < Windows; window++)
            {
                long before = counter.Read();
                for (int i = 0; i < Steps; i++)
                    model.TrainStep(batch);
                smallest = Math.Min(smallest, counter.Read() - before);
            }
            return (smallest / Steps, GC.CollectionCount(2) - collections);
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    private const int Windows = 3;
    private const int Steps = 20;
}
