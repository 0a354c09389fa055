using System.Diagnostics;
using NanoNet.Diagnostics;

namespace NanoNet.Benchmarks;

/// <summary>
/// The FMA probe on one thread pinned to each CPU the process may use, in turn (GFLOP/s per CPU). A VM's vCPU whose
/// physical core the host shares with another guest's busy thread runs every FMA-bound kernel at a fraction of its
/// speed for minutes at a time, and the other vCPU not at all: on the 2-core Emerald Rapids VM of the thirty-first
/// sitting, cpu0 probed 99–118 GFLOP/s while cpu1 probed 164–177 in the same seconds, and a 1-thread IMDB step took
/// 46 ms instead of 29 (benchmarks/README.md). The side-by-side command records the slowest and fastest vCPU before every
/// process, so a row measured in such a phase shows it. <c>vcpu-fma [rounds]</c> prints the probe alone.
/// </summary>
public static class VcpuProbe
{
    /// <summary>
    /// GFLOP/s of the 1-thread probe on each CPU of the calling thread's affinity mask (the first 64). Linux pins
    /// only the calling thread with <see cref="Process.ProcessorAffinity"/>, so call it from the process's main
    /// thread; the mask is restored afterwards. Empty where the affinity cannot be set.
    /// </summary>
    public static double[] Measure()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsWindows())
            return [];
        using Process self = Process.GetCurrentProcess();
        nint saved = self.ProcessorAffinity;
        var gflops = new List<double>();
        try
        {
            for (int cpu = 0; cpu < 64; cpu++)
            {
                nint one = (nint)1 << cpu;
                if ((saved & one) == 0)
                    continue;
                self.ProcessorAffinity = one;
                gflops.Add(FmaPeak.MeasureGflops(1));
            }
        }
        finally
        {
            self.ProcessorAffinity = saved;
        }
        return [.. gflops];
    }

    /// <summary><c>vcpu-fma [rounds]</c>: the probe per CPU, <paramref name="rounds"/> times.</summary>
    public static void Run(int rounds)
    {
        for (int r = 0; r < rounds; r++)
            Console.WriteLine($"round {r}: " + string.Join("  ", Measure().Select((g, cpu) => $"cpu{cpu} {g,6:F1}")) + "  GFLOP/s");
    }
}
