using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace NanoNet.Benchmarks;

/// <summary>A benchmark that knows how many bytes of memory one call must read and write at least.</summary>
public interface IBytesCounted
{
    double BytesPerCall { get; }
}

/// <summary>Adds GB/s (the bytes a call must move over the measured mean): the figure of merit of memory-bound kernels.</summary>
public sealed class BandwidthColumn : IColumn
{
    public static readonly BandwidthColumn Instance = new();

    public string Id => "GBps";
    public string ColumnName => "GB/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 2;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "Bytes each call must read and write, over the mean time (GB/s)";
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
    {
        double? meanNs = summary[benchmarkCase]?.ResultStatistics?.Mean;
        if (meanNs is null || meanNs <= 0 || !typeof(IBytesCounted).IsAssignableFrom(benchmarkCase.Descriptor.Type))
            return "-";
        var instance = (IBytesCounted)Activator.CreateInstance(benchmarkCase.Descriptor.Type)!;
        foreach (var parameter in benchmarkCase.Parameters.Items)
            benchmarkCase.Descriptor.Type.GetProperty(parameter.Name)?.SetValue(instance, parameter.Value);
        return (instance.BytesPerCall / meanNs.Value).ToString("F1"); // bytes per ns = GB/s
    }

    public override string ToString() => ColumnName;
}
