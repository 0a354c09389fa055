using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace NanoNet.Diagnostics;

/// <summary>
/// How the worker pool's regions spend their edges, per kind of region (the job's type): how late the helpers
/// start after the caller publishes the region, and how long the caller waits for them after its own share.
/// </summary>
/// <remarks>
/// On with the environment variable <c>NANONET_POOL_STATS=1</c> (read once at start-up; when off, the pool pays
/// one static readonly test the JIT folds away). The benchmarks' <c>case</c> command prints <see cref="Report"/>
/// to stderr. One region runs at a time, so the helpers' entry times need no per-region storage.
/// </remarks>
internal static class PoolStats
{
    /// <summary>Whether the pool records its regions (<c>NANONET_POOL_STATS=1</c>).</summary>
    public static readonly bool Enabled = Environment.GetEnvironmentVariable("NANONET_POOL_STATS") is "1" or "true";

    private static readonly Dictionary<string, Row> s_rows = [];
    private static long s_released, s_lateSum, s_lateMax, s_helperWork;
    private static readonly double[] BucketMicroseconds = [10, 100, 1000];

    private sealed class Row
    {
        public long Regions, Workers, LateTicks, LateMaxTicks, WaitTicks, WaitMaxTicks, CallerWorkTicks, HelperWorkTicks;
        public readonly long[] LateOver = new long[3]; // regions whose latest helper started over 10 µs, 100 µs, 1 ms late
    }

    /// <summary>The caller publishes a region: its timestamp.</summary>
    public static long Release()
    {
        s_lateSum = s_lateMax = s_helperWork = 0;
        return s_released = Stopwatch.GetTimestamp();
    }

    /// <summary>A helper starts its share of the current region.</summary>
    public static long Enter()
    {
        long late = Stopwatch.GetTimestamp() - Volatile.Read(ref s_released);
        Interlocked.Add(ref s_lateSum, late);
        long max;
        while (late > (max = Volatile.Read(ref s_lateMax)) && Interlocked.CompareExchange(ref s_lateMax, late, max) != max) { }
        return Stopwatch.GetTimestamp();
    }

    /// <summary>A helper finished its share begun at <paramref name="entered"/>.</summary>
    public static void Leave(long entered) => Interlocked.Add(ref s_helperWork, Stopwatch.GetTimestamp() - entered);

    /// <summary>The region ended: <paramref name="finished"/> is when the caller's own share ended.</summary>
    public static void Join(ParallelJob job, int workers, long released, long finished)
    {
        long wait = Stopwatch.GetTimestamp() - finished;
        string kind = job.GetType().Name;
        lock (s_rows)
        {
            if (!s_rows.TryGetValue(kind, out Row? row))
                s_rows[kind] = row = new Row();
            row.Regions++;
            row.Workers += workers;
            row.LateTicks += s_lateSum / Math.Max(1, workers - 1); // mean over the helpers
            row.LateMaxTicks = Math.Max(row.LateMaxTicks, s_lateMax);
            row.WaitTicks += wait;
            row.CallerWorkTicks += finished - released;
            row.HelperWorkTicks += s_helperWork / Math.Max(1, workers - 1);
            row.WaitMaxTicks = Math.Max(row.WaitMaxTicks, wait);
            for (int i = 0; i < row.LateOver.Length; i++)
                if (s_lateMax * 1e6 / Stopwatch.Frequency > BucketMicroseconds[i])
                    row.LateOver[i]++;
        }
    }

    private static string Percent(long part, long whole) => string.Create(CultureInfo.InvariantCulture, $"{100.0 * part / whole:F0}%");

    /// <summary>Forgets the regions recorded so far (e.g. the warm-up's).</summary>
    public static void Reset()
    {
        lock (s_rows)
            s_rows.Clear();
    }

    /// <summary>One line per kind of region: count, mean and worst helper lateness, mean and worst caller wait (µs), and the sums per <paramref name="steps"/>.</summary>
    public static string Report(int steps)
    {
        var text = new StringBuilder();
        text.AppendLine("region kind                     regions/step  late mean  late max  wait mean  wait max   late+wait ms/step  late>10us >100us >1ms  caller us  helper us");
        double us = 1e6 / Stopwatch.Frequency;
        double totalPerStep = 0;
        lock (s_rows)
        {
            foreach ((string kind, Row row) in s_rows.OrderByDescending(r => r.Value.LateTicks + r.Value.WaitTicks))
            {
                double perStep = (row.LateTicks + row.WaitTicks) * us / 1000 / steps;
                totalPerStep += perStep;
                text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"{kind,-32}{(double)row.Regions / steps,12:F1}{row.LateTicks * us / row.Regions,11:F1}{row.LateMaxTicks * us,10:F1}{row.WaitTicks * us / row.Regions,11:F1}{row.WaitMaxTicks * us,10:F1}{perStep,20:F3}{Percent(row.LateOver[0], row.Regions),10}{Percent(row.LateOver[1], row.Regions),7}{Percent(row.LateOver[2], row.Regions),6}{row.CallerWorkTicks * us / row.Regions,11:F1}{row.HelperWorkTicks * us / row.Regions,11:F1}"));
            }
        }
        text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"total late+wait per step: {totalPerStep:F3} ms (µs columns are per region)"));
        return text.ToString();
    }
}
