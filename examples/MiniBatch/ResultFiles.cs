using System.Globalization;
using System.Text;

namespace NanoNet.Examples.MiniBatch;

/// <summary>
/// The CSV files (long format: one row per group, run and point, so a run shared by two groups appears in
/// both) and the summary table.
/// </summary>
internal static class ResultFiles
{
    /// <summary>Header of loss.csv.</summary>
    public const string LossHeader = "group,label,run,step,examples_seen,wall_seconds,steps_in_window,loss_mean,loss_last_step";

    /// <summary>Header of epochs.csv.</summary>
    public const string EpochHeader = "group,label,run,epoch,examples_seen,wall_seconds,train_loss,val_loss,val_accuracy";

    /// <summary>Header of summary.csv.</summary>
    public const string SummaryHeader = "group,label,run,optimizer,batch_size,learning_rate,steps,examples_seen,train_seconds,final_val_accuracy,status";

    /// <summary>Writes loss.csv, epochs.csv, summary.csv and summary.md into <paramref name="directory"/>.</summary>
    public static void WriteAll(string directory, IReadOnlyList<RunGroup> groups, IReadOnlyDictionary<RunSpec, RunResult> results)
    {
        using (var loss = new CsvWriter(Path.Combine(directory, "loss.csv"), LossHeader))
        using (var epochs = new CsvWriter(Path.Combine(directory, "epochs.csv"), EpochHeader))
        using (var summary = new CsvWriter(Path.Combine(directory, "summary.csv"), SummaryHeader))
        {
            foreach (RunGroup group in groups)
            {
                foreach ((string label, RunSpec spec) in group.Runs)
                {
                    RunResult r = results[spec];
                    foreach (LossPoint p in r.Points)
                        loss.Row(group.Id, label, spec.Key, p.Step, p.Examples, p.Seconds, p.Steps, p.MeanLoss, p.LastStepLoss);
                    foreach (EpochPoint e in r.Epochs)
                        epochs.Row(group.Id, label, spec.Key, e.Epoch, e.Examples, e.Seconds, e.TrainLoss, e.ValidationLoss, e.ValidationAccuracy);
                    summary.Row(group.Id, label, spec.Key, spec.Optimizer, spec.BatchText, spec.LearningRate, r.Steps, r.Examples,
                        r.TrainingSeconds, r.FinalValidationAccuracy, r.Status);
                }
            }
        }
        File.WriteAllText(Path.Combine(directory, "summary.md"), SummaryTable(groups, results) + "\n");
    }

    /// <summary>An accuracy as "84.12%", or "-" when missing.</summary>
    public static string Percent(float? accuracy) =>
        accuracy is float a ? (a * 100).ToString("F2", CultureInfo.InvariantCulture) + "%" : "-";

    /// <summary>The summary as a Markdown table: run, steps, examples, training time and final validation accuracy.</summary>
    public static string SummaryTable(IReadOnlyList<RunGroup> groups, IReadOnlyDictionary<RunSpec, RunResult> results)
    {
        var rows = new List<string[]> { new[] { "group", "run", "steps", "examples", "train time (s)", "final val accuracy", "note" } };
        foreach (RunGroup group in groups)
        {
            string groupName = group.Title.Split(':')[0];
            foreach ((string label, RunSpec spec) in group.Runs)
            {
                RunResult r = results[spec];
                rows.Add([groupName, label, r.Steps.ToString("N0", CultureInfo.InvariantCulture), r.Examples.ToString("N0", CultureInfo.InvariantCulture),
                    r.TrainingSeconds.ToString("F1", CultureInfo.InvariantCulture), Percent(r.FinalValidationAccuracy), r.Diverged ? r.Status : ""]);
            }
        }
        int[] widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        bool[] numeric = [false, false, true, true, true, true, false];
        var sb = new StringBuilder();
        for (int i = 0; i < rows.Count; i++)
        {
            sb.Append('|');
            for (int c = 0; c < widths.Length; c++)
                sb.Append(' ').Append(numeric[c] && i > 0 ? rows[i][c].PadLeft(widths[c]) : rows[i][c].PadRight(widths[c])).Append(" |");
            sb.Append('\n');
            if (i == 0)
            {
                sb.Append('|');
                for (int c = 0; c < widths.Length; c++)
                    sb.Append(numeric[c] ? new string('-', widths[c] + 1) + ":|" : new string('-', widths[c] + 2) + "|");
                sb.Append('\n');
            }
        }
        return sb.ToString().TrimEnd('\n');
    }
}

/// <summary>A minimal RFC 4180 CSV writer: invariant numbers, fields quoted when they hold a comma, quote or line break.</summary>
internal sealed class CsvWriter : IDisposable
{
    private readonly StreamWriter _writer;
    private readonly int _columns;

    /// <summary>Creates <paramref name="path"/> and writes the header line.</summary>
    public CsvWriter(string path, string header)
    {
        _writer = new StreamWriter(path, append: false, new UTF8Encoding(false)) { NewLine = "\n" };
        _columns = header.Split(',').Length;
        _writer.WriteLine(header);
    }

    /// <summary>Writes one row; null becomes an empty field.</summary>
    public void Row(params object?[] fields)
    {
        if (fields.Length != _columns)
            throw new ArgumentException($"Expected {_columns} fields, got {fields.Length}.", nameof(fields));
        _writer.WriteLine(string.Join(',', fields.Select(Format)));
    }

    /// <summary>One field as CSV text.</summary>
    public static string Format(object? value) => value switch
    {
        null => "",
        float f => f.ToString("G7", CultureInfo.InvariantCulture),
        double d => d.ToString("0.######", CultureInfo.InvariantCulture),
        IFormattable x => x.ToString(null, CultureInfo.InvariantCulture),
        _ => Quote(value.ToString() ?? ""),
    };

    private static string Quote(string text) =>
        text.AsSpan().IndexOfAny(",\"\r\n") < 0 ? text : "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <inheritdoc/>
    public void Dispose() => _writer.Dispose();
}
