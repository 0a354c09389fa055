using System.Diagnostics;
using NanoNet.Data;
using NanoNet.Layers;

namespace NanoNet.Benchmarks;

/// <summary>
/// End-to-end training throughput: repeated train steps on a synthetic batch after warm-up, at each
/// thread count, reported as the median step time, examples/s and managed bytes allocated per step.
/// </summary>
public static class Throughput
{
    public static void Run(string model, int[] threadCounts, int steps)
    {
        Console.WriteLine($"{"model",-28}{"threads",8}{"median ms/step",16}{"examples/s",14}{"alloc B/step",14}{"gen2 GCs",10}");
        foreach (int threads in threadCounts)
        {
            Parallelism.MaxThreads = threads;
            (Sequential net, Dataset batch) = model switch
            {
                "cifar10" => SeedModels.Cifar10(batchSize: 64),
                "imdb" => SeedModels.Imdb(batchSize: 32),
                _ => throw new ArgumentException($"Unknown model '{model}'. Available: cifar10, imdb."),
            };
            for (int i = 0; i < 5; i++)
                net.TrainStep(batch); // warm-up: JIT, pools, first-touch of buffers
            var times = new double[steps];
            long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            int gen2Before = GC.CollectionCount(2);
            for (int i = 0; i < steps; i++)
            {
                long start = Stopwatch.GetTimestamp();
                net.TrainStep(batch);
                times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
            long allocated = (GC.GetAllocatedBytesForCurrentThread() - allocatedBefore) / steps;
            int gen2 = GC.CollectionCount(2) - gen2Before;
            Array.Sort(times);
            double median = times[steps / 2];
            Console.WriteLine($"{model,-28}{threads,8}{median,16:F3}{batch.Count * 1000 / median,14:N0}{allocated,14:N0}{gen2,10}");
        }
    }
}
