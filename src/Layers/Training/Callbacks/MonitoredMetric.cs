namespace NanoNet.Layers;

/// <summary>Whether a monitored metric improves by going down or up.</summary>
public enum MonitorMode
{
    /// <summary>From the name, as Keras does: metrics containing "acc" improve upward, others (losses) downward.</summary>
    Auto,

    /// <summary>Lower is better (losses).</summary>
    Min,

    /// <summary>Higher is better (accuracy).</summary>
    Max,
}

/// <summary>
/// One metric of <see cref="EpochMetrics"/> watched by a callback, and what counts as an improvement:
/// better than the best so far by more than <see cref="MinDelta"/>.
/// </summary>
internal sealed class MonitoredMetric
{
    public MonitoredMetric(string name, MonitorMode mode, float minDelta)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!EpochMetrics.IsMetricName(name))
            throw new ArgumentException($"Unknown metric '{name}'; a callback can monitor {string.Join(", ", EpochMetrics.MetricNames.Select(n => $"\"{n}\""))} or a compiled metric (\"auc\", \"val_precision\", ...).", nameof(name));
        if (!(minDelta >= 0f) || float.IsInfinity(minDelta))
            throw new ArgumentOutOfRangeException(nameof(minDelta), minDelta, "minDelta must be a non-negative finite number.");
        Name = name;
        HigherIsBetter = mode switch
        {
            MonitorMode.Min => false,
            MonitorMode.Max => true,
            MonitorMode.Auto => name.Contains("acc", StringComparison.Ordinal),
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown monitor mode."),
        };
        MinDelta = minDelta;
    }

    public string Name { get; }

    public bool HigherIsBetter { get; }

    public float MinDelta { get; }

    /// <summary>The worst possible value: anything finite improves on it.</summary>
    public float Worst => HigherIsBetter ? float.NegativeInfinity : float.PositiveInfinity;

    /// <summary>The monitored value of <paramref name="metrics"/>; throws if that epoch did not measure it.</summary>
    public float ValueOf(EpochMetrics metrics, string callbackName) =>
        metrics.GetMetric(Name) ?? throw new InvalidOperationException(
            $"{callbackName} monitors '{Name}', which epoch {metrics.Epoch} did not measure" +
            (Name.StartsWith("val_", StringComparison.Ordinal) ? ": pass validation data to Fit." : " (accuracy needs a classification loss)."));

    /// <summary>True when <paramref name="current"/> beats <paramref name="best"/> by more than <see cref="MinDelta"/> (NaN never does).</summary>
    public bool IsImprovement(float current, float best) =>
        HigherIsBetter ? current - MinDelta > best : current + MinDelta < best;
}
