using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace NanoNet.Diagnostics;

/// <summary>
/// A per-op profiler: forward and backward time of every op, grouped by the layer that ran it, with the
/// achieved GFLOP/s of the matrix-heavy ops against this machine's measured FMA peak, and the GB/s of the
/// memory-bound ops against its measured streaming bandwidth (<see cref="MemoryBandwidth"/>).
/// </summary>
/// <remarks>
/// Switch it on with <c>Profiler.Enabled = true</c> or the environment variable <c>NANONET_PROFILE=1</c>;
/// <c>Sequential.Fit</c> then prints <see cref="Report"/> after every epoch. When off, each op pays one
/// static boolean test. Timings are wall-clock per call on the calling thread (an op's parallel region
/// is inside its time). Not thread-safe: profile one training loop at a time. A call is filed under the thread count it
/// ran at (<see cref="Parallelism.CurrentMaxThreads"/>), so a run whose count changes from step to step (the benchmarks'
/// <c>NANONET_THREADS_SWITCH</c>) gets one table per count, each op's scaling measured in the same minutes.
/// </remarks>
public static class Profiler
{
    private static readonly Dictionary<(string Scope, string Op, bool Backward, int Threads), Row> s_rows = [];
    [ThreadStatic] private static string? t_scope;
    private static double? s_peakGflops;

    /// <summary>Whether ops record their timings.</summary>
    public static bool Enabled { get; set; } = Environment.GetEnvironmentVariable("NANONET_PROFILE") is "1" or "true";

    /// <summary>The name ops are grouped under (a layer's name while it runs; null outside layers).</summary>
    public static string? CurrentScope => t_scope;

    /// <summary>Groups the ops run until disposal under <paramref name="name"/> (e.g. a layer name).</summary>
    public static ScopeHandle Scope(string name)
    {
        string? previous = t_scope;
        t_scope = name;
        return new ScopeHandle(previous);
    }

    /// <summary>A timestamp to pass to <see cref="Stop"/>; 0 when the profiler is off.</summary>
    public static long Start() => Enabled ? Stopwatch.GetTimestamp() : 0;

    /// <summary>
    /// Records one call of <paramref name="op"/> begun at <paramref name="started"/> (no-op when off): its floating-point
    /// operations for a matrix-heavy op, or for a memory-bound one the <paramref name="bytes"/> it must read and write.
    /// </summary>
    public static void Stop(string op, long started, double flops = 0, bool backward = false, double bytes = 0) =>
        StopIn(t_scope, op, started, flops, backward, bytes);

    /// <summary>Records one call of <paramref name="op"/> under an explicit <paramref name="scope"/> (no-op when off).</summary>
    public static void StopIn(string? scope, string op, long started, double flops, bool backward, double bytes = 0)
    {
        if (started == 0 || !Enabled)
            return;
        long elapsed = Stopwatch.GetTimestamp() - started;
        var key = (scope ?? "-", op, backward, Parallelism.CurrentMaxThreads);
        if (!s_rows.TryGetValue(key, out Row? row))
            s_rows[key] = row = new Row();
        row.Calls++;
        row.Ticks += elapsed;
        row.Flops += flops;
        row.Bytes += bytes;
    }

    /// <summary>The bytes recorded for <paramref name="op"/> (any scope) in the given pass, summed over its calls (for tests).</summary>
    internal static double RecordedBytes(string op, bool backward) =>
        s_rows.Where(kv => kv.Key.Op == op && kv.Key.Backward == backward).Sum(kv => kv.Value.Bytes);

    /// <summary>The milliseconds recorded for <paramref name="op"/> (any scope) in the given pass, summed over its calls (benchmarks).</summary>
    internal static double RecordedMilliseconds(string op, bool backward) =>
        s_rows.Where(kv => kv.Key.Op == op && kv.Key.Backward == backward).Sum(kv => kv.Value.Ticks) * 1000.0 / Stopwatch.Frequency;

    /// <summary>Forgets everything recorded so far.</summary>
    public static void Reset() => s_rows.Clear();

    /// <summary>
    /// The table of recorded ops: layer, op, pass, calls, total and per-call milliseconds, share of the
    /// recorded time, GFLOP/s and its share of the single-core FMA peak (measured once, on first use), and for
    /// memory-bound ops GB/s and its share of the streaming bandwidth at the current thread count (the copy probe
    /// of <see cref="MemoryBandwidth"/>, measured once per thread count). Calls made at more than one thread count
    /// give one table per count, the fewest threads first.
    /// </summary>
    public static string Report()
    {
        double peak = s_peakGflops ??= FmaPeak.MeasureGflops();
        int[] counts = [.. s_rows.Keys.Select(k => k.Threads).Distinct().Order()];
        if (counts.Length == 0)
            counts = [Parallelism.CurrentMaxThreads];
        var sb = new StringBuilder();
        foreach (int threads in counts)
        {
            if (counts.Length > 1)
                sb.AppendLine(CultureInfo.InvariantCulture, $"at {threads} thread(s):");
            ReportAt(sb, threads, peak);
            if (threads != counts[^1])
                sb.AppendLine();
        }
        return sb.ToString();
    }

    private static void ReportAt(StringBuilder sb, int threads, double peak)
    {
        var rows = s_rows.Where(kv => kv.Key.Threads == threads).ToArray();
        double bandwidth = rows.Any(kv => kv.Value.Bytes > 0) ? MemoryBandwidth.MeasureGBps(threads) : 0;
        long totalTicks = rows.Sum(kv => kv.Value.Ticks);
        sb.AppendLine(CultureInfo.InvariantCulture, $"{"layer",-16}{"op",-22}{"pass",-9}{"calls",7}{"total ms",11}{"ms/call",10}{"share",8}{"GFLOP/s",9}{"% peak",8}{"GB/s",8}{"% bw",7}");
        foreach (var ((scope, op, backward, _), row) in rows.OrderByDescending(kv => kv.Value.Ticks))
        {
            double ms = row.Ticks * 1000.0 / Stopwatch.Frequency;
            double gflops = row.Flops > 0 ? row.Flops / (ms * 1e6) : 0;
            sb.Append(CultureInfo.InvariantCulture, $"{Clip(scope, 15),-16}{Clip(op, 21),-22}{(backward ? "backward" : "forward"),-9}{row.Calls,7}{ms,11:F1}{ms / row.Calls,10:F3}{100.0 * row.Ticks / Math.Max(1, totalTicks),7:F1}%");
            double gbps = row.Bytes > 0 ? row.Bytes / (ms * 1e6) : 0;
            if (gflops > 0)
                sb.Append(CultureInfo.InvariantCulture, $"{gflops,9:F1}{100 * gflops / peak,7:F0}%");
            if (gbps > 0)
                sb.Append(CultureInfo.InvariantCulture, $"{(gflops > 0 ? "" : new string(' ', 17))}{gbps,8:F1}{100 * gbps / bandwidth,6:F0}%");
            sb.AppendLine();
        }
        sb.Append(CultureInfo.InvariantCulture, $"total recorded {totalTicks * 1000.0 / Stopwatch.Frequency:F1} ms; single-core FMA peak measured {peak:F0} GFLOP/s (at {threads} thread(s) the ceiling is {peak * threads:F0}");
        if (threads > 1) // what the threads get together now: less than N × one on a VM sharing its cores
            sb.Append(CultureInfo.InvariantCulture, $", and {threads} threads at once measured {FmaPeak.MeasureGflops(threads):F0}");
        sb.Append(')');
        if (bandwidth > 0)
            sb.Append(CultureInfo.InvariantCulture, $"; streaming bandwidth at {threads} thread(s) measured {bandwidth:F0} GB/s (64 MB copy: DRAM)");
    }

    private static string Clip(string s, int length) => s.Length <= length ? s : s[..(length - 1)] + "…";

    private sealed class Row
    {
        public long Calls, Ticks;
        public double Flops, Bytes;
    }

    /// <summary>Restores the previous scope when disposed.</summary>
    public readonly struct ScopeHandle : IDisposable
    {
        private readonly string? _previous;
        internal ScopeHandle(string? previous) => _previous = previous;

        /// <summary>Leaves the scope.</summary>
        public void Dispose() => t_scope = _previous;
    }
}
