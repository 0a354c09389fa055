using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Unicode;

namespace NanoNet.Persistence;

/// <summary>
/// Reads a safetensors file (layout: see <c>SafeTensorsLayout.cs</c>), checking everything against the
/// file before trusting it: the header length against the file length, every tensor's dtype, shape and
/// offsets, and that the tensors cover the data exactly. F32 loads as is; F16 and BF16 convert to float32.
/// </summary>
/// <remarks>
/// Every problem is an <see cref="InvalidDataException"/> whose message starts with the file's name and
/// names the tensor concerned. Nothing is allocated from a length in the file before that length has been
/// checked against the file's real size.
/// </remarks>
public static class SafeTensorsReader
{
    /// <summary>Reads the file at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a valid safetensors file; the message names the file and the problem.</exception>
    public static SafeTensorsFile Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        return Read(stream, path);
    }

    /// <summary>Reads a safetensors file from a seekable <paramref name="stream"/> (from its current position to its end).</summary>
    /// <param name="stream">The file's bytes.</param>
    /// <param name="fileName">The name used in error messages.</param>
    /// <exception cref="InvalidDataException">The bytes are not a valid safetensors file; the message names <paramref name="fileName"/> and the problem.</exception>
    public static SafeTensorsFile Read(Stream stream, string fileName)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(fileName);
        if (!stream.CanSeek)
            throw new ArgumentException("The safetensors reader needs a seekable stream (it checks lengths against the file size).", nameof(stream));
        long start = stream.Position;
        long fileLength = stream.Length - start;
        if (fileLength < SafeTensorsLayout.LengthPrefixBytes)
            throw Problem(fileName, $"the file has {fileLength} bytes, too few for the 8-byte header length");

        Span<byte> prefix = stackalloc byte[SafeTensorsLayout.LengthPrefixBytes];
        stream.ReadExactly(prefix);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        ulong room = (ulong)(fileLength - SafeTensorsLayout.LengthPrefixBytes);
        if (headerLength > room)
            throw Problem(fileName, $"the header length {headerLength} runs past the end of the file ({fileLength} bytes, so at most {room})");
        if (headerLength > SafeTensorsLayout.MaxHeaderBytes)
            throw Problem(fileName, $"the header length {headerLength} is over the {SafeTensorsLayout.MaxHeaderBytes}-byte limit");

        byte[] header = new byte[(int)headerLength];
        stream.ReadExactly(header);
        (Dictionary<string, string> metadata, List<TensorEntry> entries) = ParseHeader(header, fileName);

        long dataStart = start + SafeTensorsLayout.LengthPrefixBytes + (long)headerLength;
        long dataLength = (long)room - (long)headerLength;
        CheckCoverage(entries, (ulong)dataLength, fileName);

        var tensors = new List<SafeTensor>(entries.Count);
        foreach (TensorEntry entry in entries)
        {
            float[]? values = null;
            if (SafeTensorsDTypes.ConvertsToFloat32(entry.DType))
            {
                stream.Position = dataStart + (long)entry.Begin;
                values = ReadFloat32(stream, entry.DType, (int)entry.Elements);
            }
            tensors.Add(new SafeTensor(entry.Name, entry.DType, entry.Shape, values));
        }
        return new SafeTensorsFile(fileName, metadata, tensors);
    }

    /// <summary>One tensor's header entry, checked on its own (dtype known, bytes = elements × size).</summary>
    private sealed record TensorEntry(string Name, SafeTensorsDType DType, int[] Shape, ulong Elements, ulong Begin, ulong End);

    private static (Dictionary<string, string>, List<TensorEntry>) ParseHeader(byte[] header, string fileName)
    {
        // JsonDocument checks the structure but leaves strings undecoded; reading a name with invalid
        // UTF-8 later would throw InvalidOperationException (found by fuzzing: Regressions/*-invalid-utf8*).
        if (!Utf8.IsValid(header))
            throw Problem(fileName, "the header is not valid UTF-8");
        JsonDocument document;
        try
        {
            // Depth 3 is what the format needs (object → tensor object → shape array); 4 leaves room for nothing deeper.
            document = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 4 });
        }
        catch (JsonException e)
        {
            throw Problem(fileName, $"the header is not valid JSON ({e.Message})");
        }
        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Problem(fileName, $"the header is a JSON {root.ValueKind}, not an object");
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var entries = new List<TensorEntry>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (JsonProperty property in root.EnumerateObject())
            {
                string name = NameOf(property, fileName);
                if (!names.Add(name))
                    throw Problem(fileName, $"the header names '{name}' twice");
                if (name == SafeTensorsLayout.MetadataKey)
                    ReadMetadata(property.Value, metadata, fileName);
                else
                    entries.Add(ReadEntry(name, property.Value, fileName));
            }
            return (metadata, entries);
        }
    }

    /// <summary>A string of the header, decoded (an escaped lone surrogate such as \ud800 does not decode).</summary>
    private static string Text(JsonElement value, string fileName)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException e)
        {
            throw Problem(fileName, $"the header has a string that does not decode ({e.Message})");
        }
    }

    /// <summary>A property's name, decoded (see <see cref="Text"/>).</summary>
    private static string NameOf(JsonProperty property, string fileName)
    {
        try
        {
            return property.Name;
        }
        catch (InvalidOperationException e)
        {
            throw Problem(fileName, $"the header has a name that does not decode ({e.Message})");
        }
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, string fileName)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Problem(fileName, $"__metadata__ is a JSON {value.ValueKind}, not an object of strings");
        foreach (JsonProperty entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
                throw Problem(fileName, $"__metadata__ entry '{NameOf(entry, fileName)}' is a JSON {entry.Value.ValueKind}, not a string");
            string key = NameOf(entry, fileName);
            if (!metadata.TryAdd(key, Text(entry.Value, fileName)))
                throw Problem(fileName, $"__metadata__ names '{key}' twice");
        }
    }

    private static TensorEntry ReadEntry(string name, JsonElement value, string fileName)
    {
        if (name.Length == 0)
            throw Problem(fileName, "a tensor has an empty name");
        if (value.ValueKind != JsonValueKind.Object)
            throw Problem(fileName, $"tensor '{name}' is described by a JSON {value.ValueKind}, not an object");
        string? dtypeName = null;
        int[]? shape = null;
        ulong[]? offsets = null;
        foreach (JsonProperty field in value.EnumerateObject())
        {
            switch (NameOf(field, fileName))
            {
                case "dtype" when dtypeName is null:
                    dtypeName = field.Value.ValueKind == JsonValueKind.String ? Text(field.Value, fileName)
                        : throw Problem(fileName, $"tensor '{name}': dtype is a JSON {field.Value.ValueKind}, not a string");
                    break;
                case "shape" when shape is null:
                    shape = ReadShape(name, field.Value, fileName);
                    break;
                case "data_offsets" when offsets is null:
                    offsets = ReadOffsets(name, field.Value, fileName);
                    break;
                case "dtype" or "shape" or "data_offsets":
                    throw Problem(fileName, $"tensor '{name}' gives '{NameOf(field, fileName)}' twice");
                default:
                    throw Problem(fileName, $"tensor '{name}' has an unknown field '{NameOf(field, fileName)}' (expected dtype, shape, data_offsets)");
            }
        }
        if (dtypeName is null || shape is null || offsets is null)
            throw Problem(fileName, $"tensor '{name}' lacks {(dtypeName is null ? "dtype" : shape is null ? "shape" : "data_offsets")}");
        if (!SafeTensorsDTypes.TryParse(dtypeName, out SafeTensorsDType dtype))
            throw Problem(fileName, $"tensor '{name}' has unknown dtype '{dtypeName}' (known: {string.Join(", ", Enum.GetNames<SafeTensorsDType>())})");

        ulong elements = 1;
        foreach (int d in shape)
            if (!TryMultiply(elements, (ulong)d, out elements))
                throw Problem(fileName, $"tensor '{name}': the product of shape {Shapes.Format(shape)} overflows");
        ulong size = (ulong)SafeTensorsDTypes.SizeOf(dtype);
        (ulong begin, ulong end) = (offsets[0], offsets[1]);
        if (end < begin)
            throw Problem(fileName, $"tensor '{name}': data_offsets [{begin}, {end}] end before they begin");
        if (!TryMultiply(elements, size, out ulong bytes) || bytes != end - begin)
            throw Problem(fileName, $"tensor '{name}': shape {Shapes.Format(shape)} of {dtype} needs {(TryMultiply(elements, size, out ulong b) ? b.ToString() : "more than 2^64")} bytes, but data_offsets [{begin}, {end}] hold {end - begin}");
        if (elements > (ulong)Array.MaxLength)
            throw Problem(fileName, $"tensor '{name}' has {elements} elements, more than NanoNet can hold in one tensor");
        return new TensorEntry(name, dtype, shape, elements, begin, end);
    }

    private static int[] ReadShape(string name, JsonElement value, string fileName)
    {
        if (value.ValueKind != JsonValueKind.Array)
            throw Problem(fileName, $"tensor '{name}': shape is a JSON {value.ValueKind}, not an array");
        var shape = new int[value.GetArrayLength()];
        int axis = 0;
        foreach (JsonElement d in value.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int size) || size < 0)
                throw Problem(fileName, $"tensor '{name}': shape entry {axis} ({d.GetRawText()}) is not a non-negative 32-bit integer");
            shape[axis++] = size;
        }
        return shape;
    }

    private static ulong[] ReadOffsets(string name, JsonElement value, string fileName)
    {
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() != 2)
            throw Problem(fileName, $"tensor '{name}': data_offsets must be an array [begin, end], got {Shorten(value.GetRawText())}");
        var offsets = new ulong[2];
        int index = 0;
        foreach (JsonElement offset in value.EnumerateArray())
        {
            if (offset.ValueKind != JsonValueKind.Number || !offset.TryGetUInt64(out offsets[index]))
                throw Problem(fileName, $"tensor '{name}': data_offsets entry {index} ({Shorten(offset.GetRawText())}) is not a non-negative integer");
            index++;
        }
        return offsets;
    }

    /// <summary>Checks the tensors lie inside the data, without gaps or overlaps, and cover it exactly; orders them by offset.</summary>
    private static void CheckCoverage(List<TensorEntry> entries, ulong dataLength, string fileName)
    {
        foreach (TensorEntry entry in entries)
            if (entry.End > dataLength)
                throw Problem(fileName, $"tensor '{entry.Name}': data_offsets [{entry.Begin}, {entry.End}] run past the end of the data ({dataLength} bytes)");
        entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        ulong covered = 0;
        TensorEntry? previous = null;
        foreach (TensorEntry entry in entries)
        {
            if (entry.Begin < covered)
                throw Problem(fileName, $"tensor '{entry.Name}' (bytes [{entry.Begin}, {entry.End}]) overlaps tensor '{previous!.Name}' (bytes [{previous.Begin}, {previous.End}])");
            if (entry.Begin > covered)
                throw Problem(fileName, $"bytes [{covered}, {entry.Begin}) of the data belong to no tensor (the next tensor, '{entry.Name}', starts at {entry.Begin})");
            covered = entry.End;
            previous = entry;
        }
        if (covered != dataLength)
            throw Problem(fileName, $"the data has {dataLength} bytes but the tensors cover only the first {covered}");
    }

    /// <summary>Reads <paramref name="count"/> elements of a float type and converts them to float32.</summary>
    private static float[] ReadFloat32(Stream stream, SafeTensorsDType type, int count)
    {
        var values = new float[count];
        if (type == SafeTensorsDType.F32)
        {
            stream.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
            if (!BitConverter.IsLittleEndian)
                BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<float, int>(values.AsSpan()), MemoryMarshal.Cast<float, int>(values.AsSpan()));
            return values;
        }
        const int chunk = 8192;
        Span<byte> buffer = new byte[Math.Min(count, chunk) * 2];
        for (int done = 0; done < count; done += chunk)
        {
            int n = Math.Min(chunk, count - done);
            Span<byte> bytes = buffer[..(2 * n)];
            stream.ReadExactly(bytes);
            Span<float> target = values.AsSpan(done, n);
            if (type == SafeTensorsDType.F16)
                HalfPrecision.ToSingle(bytes, target);
            else
                BFloat16.ToSingle(bytes, target);
        }
        return values;
    }

    private static bool TryMultiply(ulong a, ulong b, out ulong product)
    {
        product = unchecked(a * b);
        return b == 0 || a <= ulong.MaxValue / b;
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";

    private static InvalidDataException Problem(string fileName, string problem) => new($"{fileName}: {problem}.");
}
