using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace NanoNet.Benchmarks;

/// <summary>A benchmark that knows how many floating-point operations one call performs.</summary>
public interface IFlopCounted
{
    double FlopsPerCall { get; }
}

/// <summary>
/// Adds GFLOP/s (from the measured mean) and, when the run also measured <see cref="FmaPeakProbe"/>,
/// the share of that single-core peak, so efficiency is quoted against a peak taken in the same run.
/// </summary>
public sealed class GflopsColumn : IColumn
{
    private readonly bool _percentOfPeak;
    private GflopsColumn(bool percentOfPeak) => _percentOfPeak = percentOfPeak;

    public static readonly GflopsColumn Gflops = new(false);
    public static readonly GflopsColumn PercentOfPeak = new(true);

    /// <summary>Single-core FMA peak measured earlier in this process (set by Program after the probe ran).</summary>
    public static double? PeakGflops { get; set; }

    public string Id => _percentOfPeak ? "PercentOfFmaPeak" : "GFLOPs";
    public string ColumnName => _percentOfPeak ? "% of 1-core FMA peak" : "GFLOP/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => _percentOfPeak ? 1 : 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => _percentOfPeak ? "GFLOP/s as a share of the single-core FMA peak measured in this run" : "Billions of floating-point operations per second";
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
    {
        double? gflops = Measure(summary, benchmarkCase);
        if (gflops is null)
            return "-";
        if (!_percentOfPeak)
            return gflops.Value.ToString("F1");
        return PeakGflops is { } peak ? (100 * gflops.Value / peak).ToString("F0") + " %" : "-";
    }

    public static double? Measure(Summary summary, BenchmarkCase benchmarkCase)
    {
        BenchmarkReport? report = summary[benchmarkCase];
        double? meanNs = report?.ResultStatistics?.Mean;
        if (meanNs is null || meanNs <= 0)
            return null;
        if (!typeof(IFlopCounted).IsAssignableFrom(benchmarkCase.Descriptor.Type))
            return null; // a benchmark without a flop count (e.g. a whole training step): no GFLOP/s
        var instance = (IFlopCounted)Activator.CreateInstance(benchmarkCase.Descriptor.Type)!;
        foreach (var parameter in benchmarkCase.Parameters.Items)
            benchmarkCase.Descriptor.Type.GetProperty(parameter.Name)?.SetValue(instance, parameter.Value);
        return instance.FlopsPerCall / meanNs.Value; // flops per ns = GFLOP/s
    }

    public override string ToString() => ColumnName;
}
