// The protobuf wire format, as much of it as an ONNX file needs.
//
// A message is a sequence of fields; each field is a key followed by its payload:
//   key     = varint(field_number << 3 | wire_type)
//   varint  : wire type 0. 7 bits per byte, least significant group first, the high bit set on every
//             byte but the last. int32/int64/enum values are written as 64-bit two's complement, so a
//             negative number always takes 10 bytes.
//   fixed32 : wire type 5. 4 bytes little-endian (a float is its IEEE-754 bits).
//   length-delimited : wire type 2. varint(byte count) then the bytes: strings (UTF-8), bytes, and
//             nested messages (the nested message's own fields).
// Fields may come in any order; a repeated field is simply written once per element (proto2's
// unpacked form, which every parser accepts). Nothing here knows ONNX: see OnnxProto.cs for the messages.
using System.Buffers.Binary;
using System.Text;

namespace NanoNet.Persistence.Onnx;

/// <summary>Writes protobuf fields into a growing in-memory buffer (a nested message is written into its own writer first, so its length is known).</summary>
internal sealed class ProtobufWriter
{
    private const int VarintWireType = 0, LengthDelimitedWireType = 2, Fixed32WireType = 5;

    private byte[] _buffer;
    private int _length;

    /// <summary>An empty writer with room for <paramref name="capacity"/> bytes before it grows.</summary>
    public ProtobufWriter(int capacity = 256) => _buffer = new byte[Math.Max(capacity, 16)];

    /// <summary>The bytes written so far.</summary>
    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

    /// <summary>Number of bytes written so far.</summary>
    public int Length => _length;

    /// <summary>A varint field (int32, int64, enum, bool): negative values as 64-bit two's complement.</summary>
    public void WriteInt64(int field, long value)
    {
        WriteKey(field, VarintWireType);
        WriteVarint((ulong)value);
    }

    /// <summary>A fixed32 field holding a float.</summary>
    public void WriteFloat(int field, float value)
    {
        WriteKey(field, Fixed32WireType);
        BinaryPrimitives.WriteSingleLittleEndian(Reserve(4), value);
    }

    /// <summary>A length-delimited field holding UTF-8 text.</summary>
    public void WriteString(int field, string value)
    {
        int byteCount = Encoding.UTF8.GetByteCount(value);
        WriteKey(field, LengthDelimitedWireType);
        WriteVarint((ulong)byteCount);
        Encoding.UTF8.GetBytes(value, Reserve(byteCount));
    }

    /// <summary>A length-delimited field holding raw bytes.</summary>
    public void WriteBytes(int field, ReadOnlySpan<byte> value)
    {
        WriteKey(field, LengthDelimitedWireType);
        WriteVarint((ulong)value.Length);
        value.CopyTo(Reserve(value.Length));
    }

    /// <summary>A length-delimited field holding float32 values little-endian (ONNX's raw_data).</summary>
    public void WriteFloatsAsBytes(int field, ReadOnlySpan<float> values)
    {
        WriteKey(field, LengthDelimitedWireType);
        WriteVarint(checked((ulong)values.Length * sizeof(float)));
        Span<byte> target = Reserve(checked(values.Length * sizeof(float)));
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteSingleLittleEndian(target.Slice(i * sizeof(float), sizeof(float)), values[i]);
    }

    /// <summary>A nested message: <paramref name="writeFields"/> writes its fields, then they are embedded length-delimited.</summary>
    public void WriteMessage(int field, Action<ProtobufWriter> writeFields)
    {
        var nested = new ProtobufWriter();
        writeFields(nested);
        WriteBytes(field, nested.WrittenSpan);
    }

    /// <summary>Writes the bytes so far to <paramref name="stream"/>.</summary>
    public void CopyTo(Stream stream) => stream.Write(WrittenSpan);

    private void WriteKey(int field, int wireType)
    {
        if (field < 1 || field > (1 << 29) - 1)
            throw new ArgumentOutOfRangeException(nameof(field), field, "Protobuf field numbers are 1 to 2^29 - 1.");
        WriteVarint((ulong)((uint)field << 3 | (uint)wireType));
    }

    /// <summary>Seven bits per byte, low bits first; the high bit says another byte follows.</summary>
    private void WriteVarint(ulong value)
    {
        Span<byte> target = Reserve(VarintLength(value));
        int i = 0;
        while (value >= 0x80)
        {
            target[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        target[i] = (byte)value;
    }

    private static int VarintLength(ulong value)
    {
        int length = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            length++;
        }
        return length;
    }

    /// <summary>Makes room for <paramref name="count"/> more bytes and returns them.</summary>
    private Span<byte> Reserve(int count)
    {
        if (_buffer.Length - _length < count)
        {
            long needed = (long)_length + count;
            if (needed > Array.MaxLength)
                throw new InvalidOperationException($"An ONNX message would exceed {Array.MaxLength:N0} bytes; protobuf files are limited to 2 GB.");
            Array.Resize(ref _buffer, (int)Math.Min(Array.MaxLength, Math.Max(needed, 2L * _buffer.Length)));
        }
        Span<byte> reserved = _buffer.AsSpan(_length, count);
        _length += count;
        return reserved;
    }
}
