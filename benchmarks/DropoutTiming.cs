using System.Diagnostics;
using NanoNet.Diagnostics;

namespace NanoNet.Benchmarks;

/// <summary>
/// Dropout(0.25)'s forward at the Keras CIFAR-10 model's first dropout (32×16×16×32, 262,144 values, 1 MB), caches as in
/// a training step (a 64 MB copy evicts them, then x is written, as the pooling before it leaves it): the mask alone
/// (Philox draws and the keep rule, as a float mask; the draws alone, into a buffer that stays in L1, are the floor), and the forward as it runs (y = x ⊙ mask in one pass, the mask kept
/// as bits: <see cref="RandomStream.FillDropoutBits"/>) against a float mask and a second pass multiplying it in.
/// Median of N, ns per value and GB/s (x read, y and the mask or its bits written) against the memory
/// bandwidth probed in the same process. <c>dropout-time [repeats]</c>.
/// </summary>
public static class DropoutTiming
{
    public static void Run(int repeats)
    {
        const int Values = 32 * 16 * 16 * 32;
        const float Rate = 0.25f;
        Parallelism.MaxThreads = 1;
        double bandwidth = MemoryBandwidth.MeasureGBps(1);
        var random = new RandomStream(7);
        float[] produced = new float[Values], x = new float[Values], mask = new float[Values], y = new float[Values];
        int[] keepBits = new int[Kernels.DropoutBits.Length(Values)];
        uint[] words = new uint[1024]; // two elements a value, as a chunk of RandomStream's fills
        PhiloxKey key = PhiloxKey.From(7);
        var numbers = new Random(1);
        for (int i = 0; i < Values; i++)
            produced[i] = numbers.NextSingle() - 0.5f;
        var caches = new ColdCaches(enabled: true);
        var passes = new (string Name, double Bytes, Action Run)[]
        {
            ("draws alone", 0, () => // the Philox draws into one L1-resident buffer: the compute floor of any form
            {
                for (int done = 0; done < Values / 2; done += words.Length)
                    PhiloxLanes.Generate(key, 3, (ulong)done, words);
            }),
            ("mask alone", 4.0 * Values, () => random.FillDropoutMask(mask, Rate)),
            ("forward, bits", 8.0 * Values + Values / 8.0, () => random.FillDropoutBits(Rate, x, y, keepBits)),
            ("forward, float mask", 12.0 * Values, () =>
            {
                random.FillDropoutMask(mask, Rate);
                System.Numerics.Tensors.TensorPrimitives.Multiply(x, mask, y);
            }),
        };
        var times = passes.Select(_ => new List<double>()).ToArray();
        foreach (var pass in passes)
            SteadyState.WarmUp(pass.Run);
        for (int r = 0; r < repeats; r++)
            for (int p = 0; p < passes.Length; p++) // the passes alternate, so a loud spell of a shared machine hits all of them
            {
                caches.Evict();
                produced.AsSpan().CopyTo(x); // the layer before writes x
                long start = Stopwatch.GetTimestamp();
                passes[p].Run();
                times[p].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        Console.WriteLine($"Dropout({Rate}) on {Values:N0} values, 1 thread, x just written, the rest cold, median of {repeats}; memory bandwidth probed {bandwidth:F1} GB/s");
        Console.WriteLine($"{"pass",-22}{"ms",8}{"ns/value",10}{"GB/s",8}{"% bw",7}");
        for (int p = 0; p < passes.Length; p++)
        {
            times[p].Sort();
            double ms = times[p][times[p].Count / 2], gbps = passes[p].Bytes / (ms * 1e6);
            Console.WriteLine(passes[p].Bytes == 0 ? $"{passes[p].Name,-22}{ms,8:F3}{ms * 1e6 / Values,10:F3}{"—",8}{"—",7}"
                : $"{passes[p].Name,-22}{ms,8:F3}{ms * 1e6 / Values,10:F3}{gbps,8:F1}{100 * gbps / bandwidth,6:F0}%");
        }
    }
}
