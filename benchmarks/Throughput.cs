using NanoNet.Memory;
using System.Diagnostics;
using System.Globalization;
using NanoNet.Autograd;
using NanoNet.Data;
using NanoNet.Layers;

namespace NanoNet.Benchmarks;

/// <summary>
/// End-to-end throughput of the seed models: repeated training steps (forward, loss, backward, update)
/// at batch 64/32 and inference at batch 256 on synthetic data, after warm-up, at each thread count.
/// Reports the median step time, examples/s, managed bytes allocated per step and gen-2 collections.
/// </summary>
public static class Throughput
{
    public sealed record Result(string Model, string Mode, int Threads, int Batch, double MedianMs, double PerSecond, long AllocatedBytesPerStep, int Gen2Collections);

    public static readonly string[] Models = ["cifar10", "text"];

    public static IEnumerable<Result> Run(IEnumerable<string> models, int[] threadCounts, int steps)
    {
        foreach (int threads in threadCounts)
        {
            Parallelism.MaxThreads = threads;
            foreach (string model in models)
            {
                yield return Measure(model, "train", threads, steps);
                yield return Measure(model, "inference", threads, Math.Max(10, steps / 3));
            }
        }
    }

    private static Result Measure(string model, string mode, int threads, int steps)
    {
        int batchSize = mode == "inference" ? 256 : SeedModels.TrainingBatchSize(model);
        (Sequential net, Dataset batch) = SeedModels.Create(model, batchSize);
        Action step = mode == "train"
            ? () => net.TrainStep(batch)
            : () => Predict(net, batch.Features);
        SteadyState.WarmUp(step, minCalls: 5); // pools, first touch of buffers, and the JIT's tiers
        var times = new double[steps];
        // Process-wide, so the worker threads' allocations count too (a per-thread count once hid megabytes per step
        // allocated on the workers; see benchmarks/README.md, "allocation per training step").
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        int gen2Before = GC.CollectionCount(2);
        for (int i = 0; i < steps; i++)
        {
            long start = Stopwatch.GetTimestamp();
            step();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        long allocated = (GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / steps;
        int gen2 = GC.CollectionCount(2) - gen2Before;
        Array.Sort(times);
        double median = times[steps / 2];
        return new Result(model, mode, threads, batchSize, median, batchSize * 1000 / median, allocated, gen2);
    }

    /// <summary>Inference as <c>Sequential.Predict</c> does it for one batch: no tape, pooled intermediates.</summary>
    private static void Predict(Sequential net, Tensor x)
    {
        PredictMemory.Release();
        using (PredictMemory.Use())
        using (Tape.NoGrad())
            net.Forward(x);
    }

    private static readonly StepMemory PredictMemory = new();

    public static void PrintTable(IEnumerable<Result> results)
    {
        Console.WriteLine($"{"model",-10}{"mode",-11}{"threads",8}{"batch",7}{"median ms",11}{"examples/s",12}{"alloc B/step",14}{"gen2 GCs",10}");
        foreach (Result r in results)
            Console.WriteLine($"{r.Model,-10}{r.Mode,-11}{r.Threads,8}{r.Batch,7}{r.MedianMs,11:F3}{r.PerSecond,12:N0}{r.AllocatedBytesPerStep,14:N0}{r.Gen2Collections,10}");
    }

    public static void PrintJson(IEnumerable<Result> results)
    {
        foreach (Result r in results)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{{\"side\": \"nanonet\", \"model\": \"{r.Model}\", \"mode\": \"{r.Mode}\", \"threads\": {r.Threads}, \"batch\": {r.Batch}, \"median_ms\": {r.MedianMs}, \"per_second\": {r.PerSecond}, \"alloc_bytes_per_step\": {r.AllocatedBytesPerStep}, \"gen2\": {r.Gen2Collections}}}"));
    }
}
