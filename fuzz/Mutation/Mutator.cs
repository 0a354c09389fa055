using System.Buffers.Binary;
using System.Text;

namespace NanoNet.Fuzz.Mutation;

/// <summary>How a length field is stored, so it can be rewritten with a chosen value.</summary>
public enum FieldEncoding
{
    /// <summary>A 32-bit big-endian unsigned integer (IDX dimension sizes).</summary>
    BigEndian32,

    /// <summary>A tar header's 12-byte size field: 11 octal digits and a NUL, or base-256 (GNU) for larger values.</summary>
    TarOctalSize,
}

/// <summary>A length field at <see cref="Offset"/> of an input; inflating it is one of the mutations.</summary>
public readonly record struct LengthField(int Offset, FieldEncoding Encoding);

/// <summary>
/// Seeded byte-level mutations: bit flips, interesting bytes, truncations, deleted/duplicated/inserted ranges,
/// splices with another input, spliced headers and inflated length fields. The same seed gives the same inputs.
/// </summary>
public sealed class Mutator(int seed)
{
    private static readonly byte[] InterestingBytes = [0x00, 0x01, 0x7F, 0x80, 0xFF, (byte)'0', (byte)'7', (byte)' ', (byte)'\n', (byte)'\r', (byte)'"', (byte)','];

    private static readonly long[] InterestingLengths =
    [
        0, 1, 2, 255, 256, 511, 512, 3072, 3073, 3074, 6146, 65_535, 65_536, 1 << 20, 30_730_000, 30_733_073,
        int.MaxValue / 2, int.MaxValue - 56, int.MaxValue, uint.MaxValue, 8_589_934_591L, 1L << 40,
    ];

    /// <summary>The generator, for callers that make further seeded choices.</summary>
    public Random Random { get; } = new(seed);

    /// <summary>One to three stacked mutations of <paramref name="input"/> (which is not changed).</summary>
    /// <param name="input">The bytes to mutate.</param>
    /// <param name="findFields">The length fields of a (mutated) input; may return none.</param>
    /// <param name="donors">Other valid inputs to splice from.</param>
    public byte[] Mutate(byte[] input, Func<byte[], IReadOnlyList<LengthField>> findFields, IReadOnlyList<byte[]> donors)
    {
        byte[] data = input;
        int rounds = 1 + Random.Next(3);
        for (int i = 0; i < rounds; i++)
            data = MutateOnce(data, findFields, donors);
        return data;
    }

    private byte[] MutateOnce(byte[] data, Func<byte[], IReadOnlyList<LengthField>> findFields, IReadOnlyList<byte[]> donors)
    {
        switch (Random.Next(10))
        {
            case 0: return FlipBits(data);
            case 1: return SetInterestingByte(data);
            case 2: return data.Length == 0 ? data : data[..Random.Next(data.Length)];
            case 3: return DeleteRange(data);
            case 4: return DuplicateRange(data);
            case 5: return InsertRandom(data);
            case 6: return Splice(data, Pick(donors));
            case 7: return SpliceHeader(data, Pick(donors));
            default:
                IReadOnlyList<LengthField> fields = findFields(data);
                return fields.Count == 0 ? FlipBits(data) : InflateField(data, fields[Random.Next(fields.Count)]);
        }
    }

    private byte[] Pick(IReadOnlyList<byte[]> donors) => donors.Count == 0 ? [] : donors[Random.Next(donors.Count)];

    private byte[] FlipBits(byte[] data)
    {
        if (data.Length == 0)
            return data;
        byte[] copy = (byte[])data.Clone();
        int flips = 1 + Random.Next(8);
        for (int i = 0; i < flips; i++)
            copy[Random.Next(copy.Length)] ^= (byte)(1 << Random.Next(8));
        return copy;
    }

    private byte[] SetInterestingByte(byte[] data)
    {
        if (data.Length == 0)
            return [InterestingBytes[Random.Next(InterestingBytes.Length)]];
        byte[] copy = (byte[])data.Clone();
        copy[Random.Next(copy.Length)] = InterestingBytes[Random.Next(InterestingBytes.Length)];
        return copy;
    }

    private (int Start, int Length) Range(int length)
    {
        int start = Random.Next(length + 1);
        int max = Math.Min(length - start, Random.Next(2) == 0 ? 16 : 4096);
        return (start, Random.Next(max + 1));
    }

    private byte[] DeleteRange(byte[] data)
    {
        var (start, length) = Range(data.Length);
        return [.. data.AsSpan(0, start), .. data.AsSpan(start + length)];
    }

    private byte[] DuplicateRange(byte[] data)
    {
        var (start, length) = Range(data.Length);
        int at = Random.Next(data.Length + 1);
        return [.. data.AsSpan(0, at), .. data.AsSpan(start, length), .. data.AsSpan(at)];
    }

    private byte[] InsertRandom(byte[] data)
    {
        var inserted = new byte[1 + Random.Next(64)];
        Random.NextBytes(inserted);
        int at = Random.Next(data.Length + 1);
        return [.. data.AsSpan(0, at), .. inserted, .. data.AsSpan(at)];
    }

    /// <summary>The start of one input followed by the rest of another, cut at random points.</summary>
    private byte[] Splice(byte[] data, byte[] donor)
    {
        int cut = Random.Next(data.Length + 1), from = Random.Next(donor.Length + 1);
        return [.. data.AsSpan(0, cut), .. donor.AsSpan(from)];
    }

    /// <summary>The first bytes (a header) of another input written over the start of this one.</summary>
    private byte[] SpliceHeader(byte[] data, byte[] donor)
    {
        int length = Math.Min(donor.Length, Random.Next(2) == 0 ? 16 : 1024);
        byte[] copy = data.Length >= length ? (byte[])data.Clone() : new byte[length];
        data.AsSpan(0, Math.Min(data.Length, copy.Length)).CopyTo(copy);
        donor.AsSpan(0, length).CopyTo(copy);
        return copy;
    }

    private byte[] InflateField(byte[] data, LengthField field)
    {
        long value = Random.Next(3) switch
        {
            0 => InterestingLengths[Random.Next(InterestingLengths.Length)],
            1 => ReadField(data, field) + Random.Next(-3, 4) * (Random.Next(2) == 0 ? 1 : 512),
            _ => ReadField(data, field) * (2 + Random.Next(1000)),
        };
        byte[] copy = (byte[])data.Clone();
        WriteField(copy, field, Math.Max(0, value), fixChecksum: Random.Next(4) != 0);
        return copy;
    }

    /// <summary>The value of a length field (0 if it does not parse).</summary>
    public static long ReadField(byte[] data, LengthField field)
    {
        if (field.Encoding == FieldEncoding.BigEndian32)
            return field.Offset + 4 <= data.Length ? BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(field.Offset)) : 0;
        if (field.Offset + 12 > data.Length)
            return 0;
        string text = Encoding.ASCII.GetString(data, field.Offset, 12).Trim('\0', ' ');
        try
        {
            return text.Length == 0 ? 0 : Convert.ToInt64(text, 8);
        }
        catch (FormatException)
        {
            return 0;
        }
        catch (ArgumentException)
        {
            return 0;
        }
    }

    /// <summary>Writes <paramref name="value"/> into a length field; for a tar size, optionally fixes the header checksum so the header still parses.</summary>
    public static void WriteField(byte[] data, LengthField field, long value, bool fixChecksum)
    {
        if (field.Encoding == FieldEncoding.BigEndian32)
        {
            if (field.Offset + 4 <= data.Length)
                BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(field.Offset), (uint)Math.Min(value, uint.MaxValue));
            return;
        }
        if (field.Offset + 12 > data.Length)
            return;
        Span<byte> size = data.AsSpan(field.Offset, 12);
        if (value < 8_589_934_592L)
        {
            Encoding.ASCII.GetBytes(Convert.ToString(value, 8).PadLeft(11, '0')).CopyTo(size);
            size[11] = 0;
        }
        else
        {
            size.Clear();
            size[0] = 0x80; // GNU base-256
            BinaryPrimitives.WriteInt64BigEndian(size[4..], value);
        }
        int header = field.Offset - 124;
        if (fixChecksum && header >= 0 && header + 512 <= data.Length)
            TarLayout.FixChecksum(data, header);
    }
}
