using NanoNet.Diagnostics;

namespace NanoNet.Tests;

/// <summary>The profiler switched on around a test's calls, from a reset, and back to its previous state afterwards.</summary>
internal static class Profiling
{
    /// <summary>Records <paramref name="calls"/> alone; the rows stay for the test to read (<see cref="Profiler.Report"/>).</summary>
    public static void Record(Action calls)
    {
        bool saved = Profiler.Enabled;
        Profiler.Enabled = true;
        Profiler.Reset();
        try
        {
            calls();
        }
        finally
        {
            Profiler.Enabled = saved;
        }
    }

    /// <summary>The report of <paramref name="calls"/> alone; the rows are then forgotten.</summary>
    public static string Report(Action calls)
    {
        Record(calls);
        string report = Profiler.Report();
        Profiler.Reset();
        return report;
    }
}
