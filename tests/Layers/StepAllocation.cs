using NanoNet.Data;
using NanoNet.Layers;

namespace NanoNet.Tests;

/// <summary>How the allocation tests measure a steady training step: the bytes it allocates.</summary>
internal static class StepAllocation
{
    /// <summary>
    /// Bytes one steady training step of the compiled <paramref name="model"/> allocates at <paramref name="threads"/>
    /// threads: the mean of 20 steps after 3 warm-up steps. At one thread the step runs on this thread, and this
    /// thread's count is taken. At more, the whole process's (the kernels' worker threads allocate too: their scratch
    /// buffers once did, megabytes a step, unseen by the calling thread's count), in the smaller of two such windows: a
    /// one-time allocation elsewhere in the process (a worker thread starting up) is not a per-step one.
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
            for (int i = 0; i < 3; i++)
                model.TrainStep(batch);
            int collections = GC.CollectionCount(2);
            long perStep = Window(model, batch, threads);
            if (threads > 1)
                perStep = Math.Min(perStep, Window(model, batch, threads));
            return (perStep, GC.CollectionCount(2) - collections);
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    private static long Window(Model model, Dataset batch, int threads)
    {
        const int steps = 20;
        long before = Allocated(threads);
        for (int i = 0; i < steps; i++)
            model.TrainStep(batch);
        return (Allocated(threads) - before) / steps;
    }

    private static long Allocated(int threads) =>
        threads == 1 ? GC.GetAllocatedBytesForCurrentThread() : GC.GetTotalAllocatedBytes(precise: true);
}
