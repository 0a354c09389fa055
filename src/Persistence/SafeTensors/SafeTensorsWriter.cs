using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace NanoNet.Persistence;

/// <summary>
/// Writes float32 tensors in the safetensors format (layout: see <c>SafeTensorsLayout.cs</c>): a header
/// listing every tensor in the given order with contiguous offsets, then the data.
/// </summary>
public static class SafeTensorsWriter
{
    /// <summary>
    /// Writes <paramref name="tensors"/> (name → values, in this order) and <paramref name="metadata"/> to
    /// <paramref name="path"/>. The file is written to a temporary file next to it and renamed, so an
    /// existing file is replaced whole or not at all.
    /// </summary>
    /// <exception cref="ArgumentException">A name is empty, repeated, or <c>__metadata__</c>.</exception>
    public static void Write(string path, IReadOnlyList<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        AtomicFile.Write(path, stream => Write(stream, tensors, metadata));
    }

    /// <summary>Writes <paramref name="tensors"/> and <paramref name="metadata"/> to <paramref name="stream"/>.</summary>
    /// <exception cref="ArgumentException">A name is empty, repeated, or <c>__metadata__</c>.</exception>
    public static void Write(Stream stream, IReadOnlyList<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensors);
        byte[] header = Header(tensors, metadata);
        Span<byte> prefix = stackalloc byte[SafeTensorsLayout.LengthPrefixBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        stream.Write(prefix);
        stream.Write(header);
        foreach (KeyValuePair<string, Tensor> tensor in tensors)
            WriteLittleEndian(stream, tensor.Value.Span);
    }

    /// <summary>The header JSON, padded with spaces to a multiple of 8 bytes.</summary>
    private static byte[] Header(IReadOnlyList<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var json = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                writer.WriteStartObject(SafeTensorsLayout.MetadataKey);
                foreach (KeyValuePair<string, string> entry in metadata)
                    writer.WriteString(entry.Key, entry.Value ?? throw new ArgumentException($"Metadata '{entry.Key}' is null.", nameof(metadata)));
                writer.WriteEndObject();
            }
            long offset = 0;
            foreach ((string name, Tensor value) in tensors)
            {
                if (string.IsNullOrEmpty(name) || name == SafeTensorsLayout.MetadataKey)
                    throw new ArgumentException($"A tensor cannot be named \"{name}\" in a safetensors file.", nameof(tensors));
                if (!names.Add(name))
                    throw new ArgumentException($"Two tensors are named '{name}'; safetensors names must be unique.", nameof(tensors));
                ArgumentNullException.ThrowIfNull(value, name);
                long end = offset + (long)value.Length * sizeof(float);
                writer.WriteStartObject(name);
                writer.WriteString("dtype", nameof(SafeTensorsDType.F32));
                writer.WriteStartArray("shape");
                foreach (int d in value.Shape)
                    writer.WriteNumberValue(d);
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                writer.WriteNumberValue(end);
                writer.WriteEndArray();
                writer.WriteEndObject();
                offset = end;
            }
            writer.WriteEndObject();
        }
        int padded = (json.WrittenCount + SafeTensorsLayout.HeaderAlignment - 1) / SafeTensorsLayout.HeaderAlignment * SafeTensorsLayout.HeaderAlignment;
        byte[] header = new byte[padded];
        json.WrittenSpan.CopyTo(header);
        header.AsSpan(json.WrittenCount).Fill((byte)' ');
        return header;
    }

    private static void WriteLittleEndian(Stream stream, ReadOnlySpan<float> values)
    {
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(values));
            return;
        }
        Span<byte> element = stackalloc byte[sizeof(float)];
        foreach (float value in values)
        {
            BinaryPrimitives.WriteSingleLittleEndian(element, value);
            stream.Write(element);
        }
    }
}
