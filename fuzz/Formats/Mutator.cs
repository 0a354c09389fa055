using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;

namespace NanoNet.Fuzz.Formats;

/// <summary>
/// Makes malformed variants of a valid safetensors file: blind byte mutations (bit flips, boundary
/// bytes, truncation, insertion, deletion), lies in the 8-byte header length, and mutations of the JSON
/// header that keep the length consistent so they reach the deeper checks (numbers in shapes and
/// offsets, duplicate keys, wrong dtypes, swapped names, deleted spans). Deterministic for a seed.
/// </summary>
public sealed partial class Mutator(int seed)
{
    private readonly Random _random = new(seed);

    private static readonly byte[] s_boundaryBytes = [0x00, 0x01, 0x7F, 0x80, 0xFF, (byte)'0', (byte)'9', (byte)'"', (byte)'{', (byte)'}', (byte)'[', (byte)',', (byte)'-', (byte)' ', (byte)'\\'];

    private static readonly string[] s_boundaryNumbers = ["0", "1", "-1", "2", "7", "8", "255", "65536", "2147483647", "2147483648", "-2147483648", "4294967296",
        "9223372036854775807", "9223372036854775808", "18446744073709551615", "18446744073709551616", "99999999999999999999999", "1e3", "1.5", "-0", "1E400"];

    private static readonly string[] s_dtypes = ["F16", "BF16", "F64", "I64", "U8", "BOOL", "F8_E4M3", "I32", "f32", "F3", "", "F32 ", "F32\\u0000"];

    /// <summary>One to three mutations of <paramref name="input"/> (which is left unchanged).</summary>
    public byte[] Mutate(byte[] input)
    {
        byte[] bytes = input;
        int count = 1 + _random.Next(3);
        for (int i = 0; i < count; i++)
            bytes = MutateOnce(bytes);
        return bytes;
    }

    private byte[] MutateOnce(byte[] bytes) => _random.Next(16) switch
    {
        12 or 13 or 14 or 15 => EditArchitecture(bytes),
        0 => FlipBits(bytes),
        1 => OverwriteWithBoundaryBytes(bytes),
        2 => Truncate(bytes),
        3 => InsertBytes(bytes),
        4 => DeleteBytes(bytes),
        5 => LieAboutHeaderLength(bytes),
        6 or 7 => EditHeader(bytes, ChangeNumber),
        8 => EditHeader(bytes, DuplicateKey),
        9 => EditHeader(bytes, ChangeDType),
        10 => EditHeader(bytes, SwapNames),
        _ => EditHeader(bytes, DeleteSpan),
    };

    private byte[] FlipBits(byte[] bytes)
    {
        if (bytes.Length == 0)
            return bytes;
        byte[] result = (byte[])bytes.Clone();
        int flips = 1 + _random.Next(8);
        for (int i = 0; i < flips; i++)
            result[_random.Next(result.Length)] ^= (byte)(1 << _random.Next(8));
        return result;
    }

    private byte[] OverwriteWithBoundaryBytes(byte[] bytes)
    {
        if (bytes.Length == 0)
            return bytes;
        byte[] result = (byte[])bytes.Clone();
        int at = _random.Next(result.Length), length = Math.Min(1 + _random.Next(4), result.Length - at);
        for (int i = 0; i < length; i++)
            result[at + i] = s_boundaryBytes[_random.Next(s_boundaryBytes.Length)];
        return result;
    }

    private byte[] Truncate(byte[] bytes) => bytes.Length == 0 ? bytes : bytes[.._random.Next(bytes.Length)];

    private byte[] InsertBytes(byte[] bytes)
    {
        int at = _random.Next(bytes.Length + 1);
        var inserted = new byte[1 + _random.Next(16)];
        for (int i = 0; i < inserted.Length; i++)
            inserted[i] = _random.Next(2) == 0 ? s_boundaryBytes[_random.Next(s_boundaryBytes.Length)] : (byte)_random.Next(256);
        return [.. bytes[..at], .. inserted, .. bytes[at..]];
    }

    private byte[] DeleteBytes(byte[] bytes)
    {
        if (bytes.Length == 0)
            return bytes;
        int at = _random.Next(bytes.Length), length = Math.Min(1 + _random.Next(16), bytes.Length - at);
        return [.. bytes[..at], .. bytes[(at + length)..]];
    }

    private byte[] LieAboutHeaderLength(byte[] bytes)
    {
        if (bytes.Length < 8)
            return bytes;
        byte[] result = (byte[])bytes.Clone();
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(result);
        ulong length = (ulong)bytes.Length;
        ulong[] lies = [0, 1, n - 1, n + 1, n - 8, n + 8, length, length - 7, length - 8, length - 9, uint.MaxValue, (ulong)int.MaxValue + 1, long.MaxValue, ulong.MaxValue, (ulong)_random.NextInt64()];
        BinaryPrimitives.WriteUInt64LittleEndian(result, lies[_random.Next(lies.Length)]);
        return result;
    }

    /// <summary>Applies a text edit to the header and writes the new header length, so the edit reaches the JSON checks.</summary>
    private byte[] EditHeader(byte[] bytes, Func<string, string> edit)
    {
        if (bytes.Length < 8)
            return FlipBits(bytes);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (n > (ulong)(bytes.Length - 8))
            return FlipBits(bytes);
        // Latin-1 maps every byte to one char and back, so edits never disturb bytes they do not touch.
        string header = Encoding.Latin1.GetString(bytes, 8, (int)n);
        byte[] edited = Encoding.Latin1.GetBytes(edit(header));
        var result = new byte[8 + edited.Length + (bytes.Length - 8 - (int)n)];
        BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)edited.Length);
        edited.CopyTo(result, 8);
        bytes.AsSpan(8 + (int)n).CopyTo(result.AsSpan(8 + edited.Length));
        return result;
    }

    /// <summary>
    /// For a model file: edits the architecture document inside <c>__metadata__</c> (numbers, names,
    /// deleted spans, duplicated keys) and writes a well-formed header around it, so the edit reaches the
    /// architecture checks and the rebuild rather than the JSON parser. For a checkpoint, the same for its
    /// "training" document, plus values replaced by ones of another type or out of range. Other files get a header edit.
    /// </summary>
    private byte[] EditArchitecture(byte[] bytes)
    {
        if (bytes.Length < 8 || BinaryPrimitives.ReadUInt64LittleEndian(bytes) is ulong n && n > (ulong)(bytes.Length - 8))
            return FlipBits(bytes);
        int length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(bytes.AsMemory(8, length));
            if (!document.RootElement.TryGetProperty("__metadata__", out var metadata)
                || metadata.ValueKind != System.Text.Json.JsonValueKind.Object)
                return EditHeader(bytes, ChangeNumber);
            string key;
            string text;
            if (metadata.TryGetProperty("architecture", out var architecture) && architecture.ValueKind == System.Text.Json.JsonValueKind.String)
            {
                key = "architecture";
                text = architecture.GetString()!;
                text = _random.Next(4) switch
                {
                    0 => ChangeNumber(text),
                    1 => SwapNames(text),
                    2 => DeleteSpan(text),
                    _ => DuplicateKey(text),
                };
            }
            else if (metadata.TryGetProperty("training", out var training) && training.ValueKind == System.Text.Json.JsonValueKind.String)
            {
                key = "training";
                text = training.GetString()!;
                text = _random.Next(6) switch
                {
                    0 => ChangeNumber(text),
                    1 => SwapNames(text),
                    2 => DeleteSpan(text),
                    3 => DuplicateKey(text),
                    _ => ReplaceValue(text),
                };
            }
            else
                return EditHeader(bytes, ChangeNumber);
            var header = new System.Buffers.ArrayBufferWriter<byte>();
            using (var writer = new System.Text.Json.Utf8JsonWriter(header))
            {
                writer.WriteStartObject();
                foreach (var property in document.RootElement.EnumerateObject())
                {
                    if (property.Name != "__metadata__")
                    {
                        property.WriteTo(writer);
                        continue;
                    }
                    writer.WriteStartObject("__metadata__");
                    foreach (var entry in metadata.EnumerateObject())
                        if (entry.Name == key)
                            writer.WriteString(key, text);
                        else
                            entry.WriteTo(writer);
                    writer.WriteEndObject();
                }
                writer.WriteEndObject();
            }
            var result = new byte[8 + header.WrittenCount + (bytes.Length - 8 - length)];
            BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)header.WrittenCount);
            header.WrittenSpan.CopyTo(result.AsSpan(8));
            bytes.AsSpan(8 + length).CopyTo(result.AsSpan(8 + header.WrittenCount));
            return result;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or ArgumentException)
        {
            return FlipBits(bytes); // an earlier mutation already broke the header
        }
    }

    private string ChangeNumber(string header)
    {
        MatchCollection numbers = Number().Matches(header);
        if (numbers.Count == 0)
            return header;
        Match number = numbers[_random.Next(numbers.Count)];
        string replacement = _random.Next(3) switch
        {
            0 when long.TryParse(number.Value, out long value) => (value + _random.Next(-9, 10)).ToString(),
            1 when long.TryParse(number.Value, out long value) => (_random.Next(2) == 0 ? value * 2 : value / 2).ToString(),
            _ => s_boundaryNumbers[_random.Next(s_boundaryNumbers.Length)],
        };
        return header[..number.Index] + replacement + header[(number.Index + number.Length)..];
    }

    private static readonly string[] s_jsonValues = ["null", "\"\"", "\"Adam\"", "[]", "{}", "[{}]", "true", "-1", "0", "1.5", "1e400",
        "18446744073709551616", "-9223372036854775809", "2147483648", "{\"name\":\"x\",\"seed\":1,\"stream\":2,\"position\":3}"];

    /// <summary>Replaces one value of a JSON document (after a <c>:</c> or in an array) with a value of another type or out of range.</summary>
    private string ReplaceValue(string json)
    {
        MatchCollection values = Value().Matches(json);
        if (values.Count == 0)
            return json;
        Match value = values[_random.Next(values.Count)];
        Group group = value.Groups[1];
        return json[..group.Index] + s_jsonValues[_random.Next(s_jsonValues.Length)] + json[(group.Index + group.Length)..];
    }

    /// <summary>Renames a key to another key of the header (two tensors with one name, a repeated field, ...).</summary>
    private string DuplicateKey(string header)
    {
        MatchCollection keys = Key().Matches(header);
        if (keys.Count < 2)
            return header;
        Match source = keys[_random.Next(keys.Count)], target = keys[_random.Next(keys.Count)];
        if (_random.Next(3) == 0)
        {
            // Repeat a whole "key": {...} entry of the top level right after itself.
            int open = header.IndexOf('{', target.Index + target.Length);
            int close = open < 0 ? -1 : MatchingBrace(header, open);
            if (close > 0)
                return header[..(close + 1)] + "," + header[target.Index..(close + 1)] + header[(close + 1)..];
        }
        return header[..target.Index] + source.Value + header[(target.Index + target.Length)..];
    }

    private string ChangeDType(string header)
    {
        int at = header.IndexOf("\"F32\"", StringComparison.Ordinal);
        int skip = _random.Next(4);
        while (at >= 0 && skip-- > 0)
        {
            int next = header.IndexOf("\"F32\"", at + 1, StringComparison.Ordinal);
            if (next < 0)
                break;
            at = next;
        }
        return at < 0 ? header : header[..(at + 1)] + s_dtypes[_random.Next(s_dtypes.Length)] + header[(at + 4)..];
    }

    /// <summary>Replaces one identifier (a name, a layer type, a key, a dtype) with another from the same header.</summary>
    private string SwapNames(string header)
    {
        MatchCollection words = Word().Matches(header);
        if (words.Count < 2)
            return header;
        Match target = words[_random.Next(words.Count)];
        string replacement = _random.Next(4) == 0 ? target.Value + "_x" : words[_random.Next(words.Count)].Value;
        return header[..target.Index] + replacement + header[(target.Index + target.Length)..];
    }

    private string DeleteSpan(string header)
    {
        if (header.Length == 0)
            return header;
        int at = _random.Next(header.Length), length = Math.Min(1 + _random.Next(24), header.Length - at);
        return header[..at] + header[(at + length)..];
    }

    private static int MatchingBrace(string text, int open)
    {
        int depth = 0;
        for (int i = open; i < text.Length; i++)
        {
            if (text[i] == '{')
                depth++;
            else if (text[i] == '}' && --depth == 0)
                return i;
        }
        return -1;
    }

    [GeneratedRegex(@"[:\[,]\s*(""[^""]*""|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null|\[\]|\{\})")]
    private static partial Regex Value();

    [GeneratedRegex(@"-?\d+")]
    private static partial Regex Number();

    [GeneratedRegex(@"\\?""[^""\\]+\\?""(?=\s*:)")]
    private static partial Regex Key();

    [GeneratedRegex(@"[A-Za-z_][A-Za-z0-9_/]*")]
    private static partial Regex Word();
}
