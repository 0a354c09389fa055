using System.Globalization;
using System.Text;

namespace NanoNet.Layers;

/// <summary>Keras-like console output of <c>Fit</c>: a live progress bar when interactive, one line per epoch.</summary>
internal sealed class ProgressPrinter(TextWriter output, int batchesPerEpoch, bool interactive)
{
    private const int BarWidth = 30;
    private TimeSpan _lastDraw;

    public void StartEpoch(int epoch, int epochs) => output.WriteLine($"Epoch {epoch}/{epochs}");

    public void Batch(int step, MetricTotals totals, TimeSpan elapsed)
    {
        if (!interactive || batchesPerEpoch == 0 || (elapsed - _lastDraw).TotalMilliseconds < 100 && step != batchesPerEpoch)
            return; // (a streamed epoch has no known length: no bar, just the epoch line)
        _lastDraw = elapsed;
        int filled = (int)((long)BarWidth * step / batchesPerEpoch);
        var sb = new StringBuilder();
        sb.Append('\r').Append(Counter(step)).Append(" [").Append('=', filled).Append(filled < BarWidth ? ">" : "")
          .Append('.', Math.Max(0, BarWidth - filled - 1)).Append("] - ")
          .Append(Format(elapsed.TotalSeconds, "0")).Append("s - loss: ").Append(Format(totals.MeanLoss, "0.0000"));
        if (totals.Accuracy is { } a)
            sb.Append(" - accuracy: ").Append(Format(a, "0.0000"));
        AppendMetrics(sb, totals.Compiled(), validation: false);
        output.Write(sb.ToString());
    }

    public void EndEpoch(EpochMetrics m, int steps)
    {
        var sb = new StringBuilder();
        if (interactive)
            sb.Append('\r');
        sb.Append(Counter(steps)).Append(" - ").Append(Format(m.Seconds, "0.0")).Append("s ")
          .Append(Format(m.Seconds * 1000 / Math.Max(1, steps), "0.00")).Append("ms/step - loss: ").Append(Format(m.Loss, "0.0000"));
        if (m.Accuracy is { } a) sb.Append(" - accuracy: ").Append(Format(a, "0.0000"));
        AppendMetrics(sb, m.Metrics, validation: false);
        if (m.ValidationLoss is { } vl) sb.Append(" - val_loss: ").Append(Format(vl, "0.0000"));
        if (m.ValidationAccuracy is { } va) sb.Append(" - val_accuracy: ").Append(Format(va, "0.0000"));
        AppendMetrics(sb, m.Metrics, validation: true);
        sb.Append(" - ").Append(Format(m.SamplesPerSecond, "N0")).Append(" samples/s");
        if (interactive)
            sb.Append("    ");
        output.WriteLine(sb.ToString());
    }

    /// <summary>The compiled metrics, Keras style (" - auc: 0.9012"): the training ones, or the "val_" ones.</summary>
    private static void AppendMetrics(StringBuilder sb, IReadOnlyDictionary<string, float> metrics, bool validation)
    {
        foreach ((string name, float value) in metrics)
            if (name.StartsWith("val_", StringComparison.Ordinal) == validation)
                sb.Append(" - ").Append(name).Append(": ").Append(Format(value, "0.0000"));
    }

    private string Counter(int step) => batchesPerEpoch == 0 ? $"{step}" : $"{step.ToString(CultureInfo.InvariantCulture).PadLeft(batchesPerEpoch.ToString(CultureInfo.InvariantCulture).Length)}/{batchesPerEpoch}";

    private static string Format(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}
