using System.Globalization;
using System.Text;

namespace NanoNet.Data;

/// <summary>
/// Reads labelled texts from a CSV file (RFC 4180 quoting): one label column and one or more text
/// columns, which are joined with a space. Fits corpora such as AG News (<c>label,title,description</c>
/// with labels 1..4).
/// </summary>
/// <remarks>
/// <para>Byte layout: text (UTF-8, or as its byte-order mark says) of records separated by CRLF, LF or CR;
/// fields separated by the separator; a field may be quoted with <c>"</c> (then it may hold separators, line
/// breaks and <c>""</c> for one quote). Fields are at most <see cref="MaxFieldLength"/> characters.</para>
/// <para>Labels are mapped to class ids 0..k−1 in sorted order of the distinct labels: numerically when
/// every label is an integer (so AG News' 1..4 become 0..3), otherwise by ordinal string order. A first
/// record whose label is not an integer while every other label is, read without <c>hasHeader</c>, is a
/// header row read as data: an error, not a class named after the column. The
/// mapping is in <see cref="LabelledTexts.ClassNames"/>; pass it as <c>classNames</c> when reading the
/// test split so both splits use the same ids even if the test split lacks a class.</para>
/// </remarks>
/// <example><code>
/// var train = LabelledTextCsv.Read("ag_news/train.csv");
/// var test = LabelledTextCsv.Read("ag_news/test.csv", classNames: train.ClassNames);
/// var vocabulary = Vocabulary.Build(train.Texts, 20_000);
/// Dataset trainSet = train.ToDataset(vocabulary, 100);
/// </code></example>
public static class LabelledTextCsv
{
    /// <summary>
    /// The longest field accepted, in characters (1 Mi): a longer one, typically an unterminated quote that
    /// would swallow the rest of the file, is an error as soon as it passes this length.
    /// </summary>
    public const int MaxFieldLength = 1 << 20;

    /// <summary>Reads a CSV file (UTF-8, or the encoding its byte-order mark names).</summary>
    /// <param name="path">The file.</param>
    /// <param name="labelColumn">0-based index of the label column.</param>
    /// <param name="textColumns">0-based indices of the text columns, joined in this order; null = every other column.</param>
    /// <param name="hasHeader">Skip the first record (column names).</param>
    /// <param name="separator">The field separator.</param>
    /// <param name="classNames">The label of each class id, e.g. the training split's <see cref="LabelledTexts.ClassNames"/>; null = the sorted distinct labels of this file.</param>
    /// <exception cref="InvalidDataException">
    /// Malformed quoting, a field longer than <see cref="MaxFieldLength"/>, a record with too few fields, an empty
    /// label, a label not in <paramref name="classNames"/>, or a header row read as data; the message names the file and line.
    /// </exception>
    public static LabelledTexts Read(string path, int labelColumn = 0, int[]? textColumns = null, bool hasHeader = false,
        char separator = ',', IReadOnlyList<string>? classNames = null)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"CSV file not found: {path}", path);
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
        return Read(reader, path, labelColumn, textColumns, hasHeader, separator, classNames);
    }

    /// <summary>Reads CSV text from <paramref name="reader"/>; <paramref name="sourceName"/> names it in errors. Parameters as in <see cref="Read(string, int, int[], bool, char, IReadOnlyList{string})"/>.</summary>
    public static LabelledTexts Read(TextReader reader, string sourceName, int labelColumn = 0, int[]? textColumns = null,
        bool hasHeader = false, char separator = ',', IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentOutOfRangeException.ThrowIfNegative(labelColumn);
        if (textColumns is not null)
        {
            if (textColumns.Length == 0)
                throw new ArgumentException("At least one text column is needed.", nameof(textColumns));
            foreach (int column in textColumns)
                if (column < 0 || column == labelColumn)
                    throw new ArgumentException($"Text column {column} must be non-negative and differ from the label column {labelColumn}.", nameof(textColumns));
        }

        var csv = new CsvReader(reader, sourceName, separator, MaxFieldLength);
        var fields = new List<string>();
        var texts = new List<string>();
        var labels = new List<string>();
        var lines = new List<int>();
        var textParts = new List<string>();
        if (hasHeader)
            csv.TryReadRecord(fields);
        int needed = textColumns is null ? Math.Max(labelColumn + 1, 2) : Math.Max(labelColumn, textColumns.Max()) + 1;
        while (csv.TryReadRecord(fields))
        {
            if (fields.Count < needed)
                throw new InvalidDataException(
                    $"{sourceName}: line {csv.RecordLine}: {fields.Count} field(s), but the label column {labelColumn} and text column(s) " +
                    $"{(textColumns is null ? "(all others)" : string.Join(", ", textColumns))} need at least {needed}.");
            string label = fields[labelColumn].Trim();
            if (label.Length == 0)
                throw new InvalidDataException($"{sourceName}: line {csv.RecordLine}: the label (column {labelColumn}) is empty.");
            textParts.Clear();
            if (textColumns is null)
            {
                for (int i = 0; i < fields.Count; i++)
                    if (i != labelColumn && fields[i].Length > 0)
                        textParts.Add(fields[i]);
            }
            else
            {
                foreach (int i in textColumns)
                    if (fields[i].Length > 0)
                        textParts.Add(fields[i]);
            }
            texts.Add(string.Join(' ', textParts));
            labels.Add(label);
            lines.Add(csv.RecordLine);
        }

        if (!hasHeader && labels.Count >= 2 && !IsInteger(labels[0]) && !(classNames?.Contains(labels[0]) ?? false)
            && labels.Skip(1).All(IsInteger))
            throw new InvalidDataException(
                $"{sourceName}: line {lines[0]}: the label '{labels[0]}' is not an integer while the other {labels.Count - 1} labels are: " +
                "this looks like a header row (column names); pass hasHeader: true to skip it.");
        IReadOnlyList<string> classes = classNames ?? SortedDistinct(labels);
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < classes.Count; i++)
            ids.TryAdd(classes[i], i);
        var labelIds = new int[labels.Count];
        for (int i = 0; i < labels.Count; i++)
        {
            if (!ids.TryGetValue(labels[i], out labelIds[i]))
                throw new InvalidDataException(
                    $"{sourceName}: line {lines[i]}: label '{labels[i]}' is not one of the {classes.Count} known classes ({string.Join(", ", classes)}).");
        }
        return new LabelledTexts(texts, labelIds, classes);
    }

    private static bool IsInteger(string label) => long.TryParse(label, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _);

    /// <summary>The distinct labels, numerically sorted when all are integers, else ordinally.</summary>
    private static string[] SortedDistinct(List<string> labels)
    {
        string[] distinct = labels.Distinct(StringComparer.Ordinal).ToArray();
        if (distinct.All(IsInteger))
            return distinct.OrderBy(l => long.Parse(l, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture)).ThenBy(l => l, StringComparer.Ordinal).ToArray();
        return distinct.OrderBy(l => l, StringComparer.Ordinal).ToArray();
    }
}
