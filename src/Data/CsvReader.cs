using System.Text;

namespace NanoNet.Data;

/// <summary>
/// Reads records of comma-separated values as RFC 4180 defines them: a field may be quoted with
/// <c>"</c>, and a quoted field may hold separators, line breaks and doubled quotes (<c>""</c> = one <c>"</c>).
/// </summary>
/// <remarks>
/// Records end at an unquoted CRLF, LF or CR. Blank lines are skipped. A quote inside an unquoted
/// field is kept as a character (a common leniency); text after a closing quote other than a
/// separator or line break is an error, as is a quoted field that is never closed. A field longer than
/// the maximum length is an error as soon as it passes it, so an unterminated quote never buffers the
/// rest of the file.
/// </remarks>
internal sealed class CsvReader
{
    private const int EndOfInput = -1;
    private readonly TextReader _reader;
    private readonly string _sourceName;
    private readonly char _separator;
    private readonly int _maxFieldLength;
    private readonly char[] _buffer = new char[1 << 16];
    private readonly StringBuilder _field = new();
    private int _position, _filled;
    private int _line = 1;

    public CsvReader(TextReader reader, string sourceName, char separator = ',', int maxFieldLength = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFieldLength, 1);
        _maxFieldLength = maxFieldLength;
        if (separator is '"' or '\r' or '\n')
            throw new ArgumentException($"The separator cannot be a quote or a line break, got '{separator}'.", nameof(separator));
        _reader = reader;
        _sourceName = sourceName;
        _separator = separator;
    }

    /// <summary>The 1-based line on which the last record read starts.</summary>
    public int RecordLine { get; private set; }

    /// <summary>Reads the next non-blank record into <paramref name="fields"/>; false at the end of the input.</summary>
    /// <exception cref="InvalidDataException">Malformed quoting; the message names the source and the line.</exception>
    public bool TryReadRecord(List<string> fields)
    {
        fields.Clear();
        while (true)
        {
            int c = Peek();
            if (c == EndOfInput)
                return false;
            if (c is '\r' or '\n')
            {
                ReadLineBreak(); // a blank line
                continue;
            }
            break;
        }
        RecordLine = _line;
        while (true)
        {
            fields.Add(ReadField());
            int c = Next();
            if (c == _separator)
                continue;
            if (c is '\r' or '\n')
                EndLineBreak(c);
            return true; // line break or end of input
        }
    }

    /// <summary>Reads one field, leaving the separator or line break that ends it unread.</summary>
    private string ReadField()
    {
        _field.Clear();
        if (Peek() != '"')
        {
            for (int c = Peek(); c != EndOfInput && c != _separator && c is not ('\r' or '\n'); c = Peek())
            {
                if (_field.Length == _maxFieldLength)
                    throw new InvalidDataException($"{_sourceName}: line {_line}: a field is longer than the {_maxFieldLength} characters accepted.");
                _field.Append((char)Next());
            }
            return _field.ToString();
        }
        int startLine = _line;
        Next(); // the opening quote
        while (true)
        {
            int c = Next();
            if (c == EndOfInput)
                throw new InvalidDataException($"{_sourceName}: line {startLine}: a quoted field is never closed (the input ends inside it).");
            if (c == '"')
            {
                if (Peek() == '"')
                {
                    _field.Append((char)Next()); // "" stands for one quote
                    continue;
                }
                int after = Peek();
                if (after != EndOfInput && after != _separator && after is not ('\r' or '\n'))
                    throw new InvalidDataException(
                        $"{_sourceName}: line {_line}: unexpected character '{(char)after}' after the closing quote of a field " +
                        "(a quote inside a quoted field must be doubled: \"\").");
                return _field.ToString();
            }
            if (c == '\n' || (c == '\r' && Peek() != '\n'))
                _line++;
            if (_field.Length == _maxFieldLength)
                throw new InvalidDataException(
                    $"{_sourceName}: line {startLine}: the quoted field that starts here is longer than the {_maxFieldLength} characters accepted " +
                    "(is its closing quote missing?).");
            _field.Append((char)c);
        }
    }

    private void ReadLineBreak() => EndLineBreak(Next());

    /// <summary>After reading CR or LF: consume the LF of a CRLF and count the line.</summary>
    private void EndLineBreak(int c)
    {
        if (c == '\r' && Peek() == '\n')
            Next();
        _line++;
    }

    private int Peek()
    {
        if (_position == _filled && !Fill())
            return EndOfInput;
        return _buffer[_position];
    }

    private int Next()
    {
        if (_position == _filled && !Fill())
            return EndOfInput;
        return _buffer[_position++];
    }

    private bool Fill()
    {
        _filled = _reader.Read(_buffer, 0, _buffer.Length);
        _position = 0;
        return _filled > 0;
    }
}
