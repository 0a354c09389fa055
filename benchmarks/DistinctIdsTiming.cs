using System.Diagnostics;
using NanoNet.Kernels;

namespace NanoNet.Benchmarks;

/// <summary>
/// <see cref="DistinctIds.Number"/> at the IMDB seed model's batch (32×200 = 6,400 positions) over a vocabulary of the
/// given size, ids drawn as a tokenizer numbering words by frequency gives them (id k about as often as 1/(k + 1)), with
/// cold caches as in a training step (a 64 MB copy before each call): median and best of 50 calls, in µs.
/// <c>distinct-ids-time [vocabulary]</c> (20,000 by default).
/// </summary>
public static class DistinctIdsTiming
{
    public static void Run(int vocabulary)
    {
        const int Positions = 32 * 200, Calls = 50;
        var rng = new Random(1);
        double harmonic = Math.Log(vocabulary) + 0.5772;
        int[] ids = [.. Enumerable.Range(0, Positions).Select(_ => Math.Min(vocabulary - 1, (int)Math.Exp(rng.NextDouble() * harmonic) - 1))];
        int[] table = new int[vocabulary], slots = new int[Positions], distinct = new int[Positions];
        var caches = new ColdCaches(enabled: true);
        int count = 0;
        SteadyState.WarmUp(() => count = DistinctIds.Number(ids, table, slots, distinct), minCalls: 10);
        var times = new List<double>();
        for (int call = 0; call < Calls; call++)
        {
            caches.Evict();
            long start = Stopwatch.GetTimestamp();
            DistinctIds.Number(ids, table, slots, distinct);
            times.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
        }
        times.Sort();
        Console.WriteLine($"DistinctIds.Number, {Positions} positions, {count} distinct of {vocabulary} ids, cold caches: " +
            $"median {times[Calls / 2]:F1} µs, best {times[0]:F1} µs ({Calls} calls)");
    }
}
