using System.Buffers;
using System.Text;

namespace NanoNet.Data;

/// <summary>
/// Splits text into words the way Keras' <c>Tokenizer</c> does by default, plus removal of HTML line
/// breaks: lower-case, <c>&lt;br /&gt;</c> / <c>&lt;br/&gt;</c> / <c>&lt;br&gt;</c> replaced by a space, every
/// character of <see cref="Filters"/> replaced by a space, then split on whitespace.
/// </summary>
/// <remarks>
/// Punctuation is <b>dropped</b>, as Keras drops it through its <c>filters</c>:
/// "Great movie!&lt;br /&gt;Loved it." gives [great, movie, loved, it]. The apostrophe is not a filter, so
/// "don't" stays one word, as in Keras. Unlike Keras (which splits on a single space), any whitespace
/// separates words. The result depends only on the text, so tokenisation is deterministic; the
/// tokenizer holds no state and may be shared between threads.
/// </remarks>
public sealed class Tokenizer
{
    /// <summary>Keras' default filters: ASCII punctuation, tab and newline.</summary>
    public const string KerasFilters = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n";

    private readonly SearchValues<char> _filters;

    /// <summary>Creates a tokenizer.</summary>
    /// <param name="lowerCase">Convert to lower case first (invariant culture).</param>
    /// <param name="filters">Characters replaced by a space (default <see cref="KerasFilters"/>).</param>
    /// <param name="removeHtmlLineBreaks">Replace <c>&lt;br /&gt;</c> tags (any case, any spacing) by a space.</param>
    public Tokenizer(bool lowerCase = true, string filters = KerasFilters, bool removeHtmlLineBreaks = true)
    {
        ArgumentNullException.ThrowIfNull(filters);
        LowerCase = lowerCase;
        Filters = filters;
        RemoveHtmlLineBreaks = removeHtmlLineBreaks;
        _filters = SearchValues.Create(filters);
    }

    /// <summary>Whether text is lower-cased.</summary>
    public bool LowerCase { get; }

    /// <summary>The characters replaced by a space (and so dropped).</summary>
    public string Filters { get; }

    /// <summary>Whether HTML line-break tags are removed.</summary>
    public bool RemoveHtmlLineBreaks { get; }

    /// <summary>The words of <paramref name="text"/>, in order.</summary>
    public string[] Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var words = new List<string>();
        char[] buffer = [];
        int length = Normalize(text, ref buffer);
        foreach (Range word in new WordRanges(buffer.AsSpan(0, length)))
            words.Add(new string(buffer.AsSpan(0, length)[word]));
        return [.. words];
    }

    /// <summary>The text after lower-casing, line-break removal and filtering, before splitting.</summary>
    public string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        char[] buffer = [];
        int length = Normalize(text, ref buffer);
        return new string(buffer, 0, length);
    }

    /// <summary>
    /// Calls <paramref name="visit"/> with each word as a span into a reused buffer (no string per
    /// word). <paramref name="buffer"/> is grown as needed and may be reused across calls.
    /// </summary>
    internal void ForEachWord<TState>(string text, ref char[] buffer, ref TState state, WordVisitor<TState> visit)
    {
        int length = Normalize(text, ref buffer);
        ReadOnlySpan<char> normalized = buffer.AsSpan(0, length);
        foreach (Range word in new WordRanges(normalized))
            visit(normalized[word], ref state);
    }

    /// <summary>Receives one word of a text.</summary>
    internal delegate void WordVisitor<TState>(ReadOnlySpan<char> word, ref TState state);

    /// <summary>Writes the normalised text into <paramref name="buffer"/> (grown as needed); returns its length.</summary>
    private int Normalize(string text, ref char[] buffer)
    {
        if (buffer.Length < text.Length)
            buffer = new char[Math.Max(text.Length, 2 * buffer.Length)];
        int length = 0;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '<' && RemoveHtmlLineBreaks && HtmlLineBreakLength(text, i) is int tag and > 0)
            {
                buffer[length++] = ' ';
                i += tag - 1;
                continue;
            }
            if (LowerCase)
                c = char.ToLowerInvariant(c);
            buffer[length++] = _filters.Contains(c) ? ' ' : c;
        }
        return length;
    }

    /// <summary>The length of a <c>&lt;br&gt;</c>, <c>&lt;br/&gt;</c> or <c>&lt;br /&gt;</c> tag (any case, optional spaces) at <paramref name="start"/>, or 0.</summary>
    private static int HtmlLineBreakLength(string text, int start)
    {
        int i = start + 1;
        if (i + 1 >= text.Length || (text[i] | 0x20) != 'b' || (text[i + 1] | 0x20) != 'r')
            return 0;
        i += 2;
        while (i < text.Length && text[i] == ' ')
            i++;
        if (i < text.Length && text[i] == '/')
            i++;
        while (i < text.Length && text[i] == ' ')
            i++;
        return i < text.Length && text[i] == '>' ? i + 1 - start : 0;
    }

    /// <summary>Enumerates the maximal runs of non-whitespace characters.</summary>
    private ref struct WordRanges(ReadOnlySpan<char> text)
    {
        private readonly ReadOnlySpan<char> _text = text;
        private int _end;

        public Range Current { get; private set; }

        public readonly WordRanges GetEnumerator() => this;

        public bool MoveNext()
        {
            int start = _end;
            while (start < _text.Length && char.IsWhiteSpace(_text[start]))
                start++;
            if (start == _text.Length)
                return false;
            int end = start + 1;
            while (end < _text.Length && !char.IsWhiteSpace(_text[end]))
                end++;
            _end = end;
            Current = start..end;
            return true;
        }
    }

    /// <summary>Describes the settings, e.g. for a model summary.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder("Tokenizer(");
        sb.Append(LowerCase ? "lower-case" : "case kept");
        sb.Append(RemoveHtmlLineBreaks ? ", <br /> removed" : "");
        sb.Append(Filters == KerasFilters ? ", Keras filters" : $", {Filters.Length} filter characters");
        return sb.Append(')').ToString();
    }
}
