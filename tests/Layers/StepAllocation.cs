using NanoNet.Data;
using NanoNet.Layers;

namespace NanoNet.Tests;

/// <summary>How the allocation tests measure a steady training step: the bytes it allocates on this thread.</summary>
internal static class StepAllocation
{
    /// <summary>
    /// Bytes one steady training step of the compiled <paramref name="model"/> allocates, at one thread (so the
    /// step runs on this thread): the mean of 20 steps after 3 warm-up steps.
    /// </summary>
    public static long BytesPerStep(Model model, Dataset batch)
    {
        int saved = Parallelism.MaxThreads;
        Parallelism.MaxThreads = 1; // allocation is measured on this thread
        try
        {
            for (int i = 0; i < 3; i++)
                model.TrainStep(batch);
            long before = GC.GetAllocatedBytesForCurrentThread();
            const int steps = 20;
            for (int i = 0; i < steps; i++)
                model.TrainStep(batch);
            return (GC.GetAllocatedBytesForCurrentThread() - before) / steps;
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }
}
