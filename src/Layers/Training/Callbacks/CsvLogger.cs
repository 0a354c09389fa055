using System.Globalization;
using System.Text;

namespace NanoNet.Layers;

/// <summary>
/// Writes one CSV row per epoch (Keras's <c>CSVLogger</c>): the columns are <c>epoch</c> then the epoch's
/// metrics in sorted order (<c>accuracy</c>, <c>loss</c>, compiled metrics, <c>val_</c> ones, per-output
/// ones), as <see cref="EpochMetrics.ToLogs"/> gives them. As in Keras, <c>epoch</c> is the 0-based index
/// (the history's epoch − 1), the columns are fixed by the first epoch written, and a metric missing from
/// a later epoch is written <c>NA</c>.
/// </summary>
/// <remarks>
/// Each row is appended and the file closed at once, so a run that stops (or crashes) keeps every finished
/// epoch. With <c>append</c> false the file is started afresh when training begins; with true, rows are
/// added after the existing ones (the header only if the file was empty), to continue a resumed run.
/// </remarks>
/// <param name="path">The CSV file.</param>
/// <param name="separator">The column separator (Keras's default ",").</param>
/// <param name="append">Add to an existing file instead of overwriting it.</param>
public sealed class CsvLogger(string path, string separator = ",", bool append = false) : Callback
{
    private string[]? _columns;

    /// <summary>The CSV file.</summary>
    public string Path { get; } = !string.IsNullOrWhiteSpace(path) ? path : throw new ArgumentException("CsvLogger needs a file path.", nameof(path));

    /// <summary>The column separator.</summary>
    public string Separator { get; } = !string.IsNullOrEmpty(separator) ? separator : throw new ArgumentException("CsvLogger needs a separator.", nameof(separator));

    /// <summary>Whether rows are added to an existing file.</summary>
    public bool Append { get; } = append;

    /// <inheritdoc />
    public override void OnTrainBegin()
    {
        _columns = null;
        if (!Append)
            File.WriteAllText(Path, "");
    }

    /// <inheritdoc />
    public override void OnEpochEnd(EpochMetrics metrics)
    {
        IReadOnlyDictionary<string, float> logs = metrics.ToLogs();
        var text = new StringBuilder();
        if (_columns is null)
        {
            _columns = [.. logs.Keys.Order(StringComparer.Ordinal)];
            if (!File.Exists(Path) || new FileInfo(Path).Length == 0)
                text.AppendJoin(Separator, ["epoch", .. _columns]).Append('\n');
        }
        text.Append((metrics.Epoch - 1).ToString(CultureInfo.InvariantCulture));
        foreach (string column in _columns)
            text.Append(Separator).Append(logs.TryGetValue(column, out float value) ? value.ToString(CultureInfo.InvariantCulture) : "NA");
        File.AppendAllText(Path, text.Append('\n').ToString());
    }
}
