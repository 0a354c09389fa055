using System.IO.Compression;
using System.Text;

namespace NanoNet.Fuzz.Mutation;

/// <summary>Where the length fields of a tar stream are: the 12-byte size field at offset 124 of every 512-byte header.</summary>
public static class TarLayout
{
    /// <summary>The size fields of the headers found by walking the stream from the start (best effort on damaged input).</summary>
    public static IReadOnlyList<LengthField> SizeFields(byte[] tar)
    {
        var fields = new List<LengthField>();
        long offset = 0;
        while (offset + 512 <= tar.Length && fields.Count < 64)
        {
            if (tar.AsSpan((int)offset, 512).IndexOfAnyExcept((byte)0) < 0)
                break; // the end-of-archive blocks
            var field = new LengthField((int)offset + 124, FieldEncoding.TarOctalSize);
            fields.Add(field);
            long size = Mutator.ReadField(tar, field);
            offset += 512 + (size + 511) / 512 * 512;
        }
        return fields;
    }

    /// <summary>Recomputes the checksum of the header at <paramref name="header"/>: the byte sum with the checksum field read as spaces.</summary>
    public static void FixChecksum(byte[] data, int header)
    {
        Array.Fill(data, (byte)' ', header + 148, 8);
        int sum = 0;
        for (int i = 0; i < 512; i++)
            sum += data[header + i];
        Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(data, header + 148);
    }
}

/// <summary>The IDX header's length fields: the d big-endian sizes after the 4-byte magic.</summary>
public static class IdxLayout
{
    /// <summary>The dimension fields that the input's rank byte announces (as many as fit).</summary>
    public static IReadOnlyList<LengthField> DimensionFields(byte[] idx)
    {
        if (idx.Length < 4)
            return [];
        var fields = new List<LengthField>();
        for (int d = 0; d < idx[3] && 4 + 4 * d + 4 <= idx.Length; d++)
            fields.Add(new LengthField(4 + 4 * d, FieldEncoding.BigEndian32));
        return fields;
    }
}

/// <summary>The gzip layer: decompressing a seed to mutate what is inside, recompressing, and mutating the wrapper itself.</summary>
public static class GzipLayer
{
    /// <summary>Whether the bytes start with the gzip magic 1F 8B.</summary>
    public static bool IsGzip(byte[] data) => data.Length >= 2 && data[0] == 0x1F && data[1] == 0x8B;

    public static byte[] Decompress(byte[] data)
    {
        using var gzip = new GZipStream(new MemoryStream(data), CompressionMode.Decompress);
        var output = new MemoryStream();
        gzip.CopyTo(output);
        return output.ToArray();
    }

    public static byte[] Compress(byte[] data)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
            gzip.Write(data);
        return output.ToArray();
    }

    /// <summary>
    /// Damages the wrapper rather than the content: a wrong length (ISIZE) or CRC in the 8-byte trailer,
    /// header flag bits (FEXTRA, FNAME, FCOMMENT, reserved), a second member, or garbage after the stream.
    /// </summary>
    public static byte[] MutateWrapper(byte[] gzip, Random random)
    {
        byte[] copy = (byte[])gzip.Clone();
        switch (random.Next(5))
        {
            case 0 when copy.Length >= 8:
                BitConverter.TryWriteBytes(copy.AsSpan(copy.Length - 4), random.Next(2) == 0 ? uint.MaxValue : (uint)random.Next());
                return copy;
            case 1 when copy.Length >= 8:
                copy[copy.Length - 8 + random.Next(4)] ^= 0x5A;
                return copy;
            case 2 when copy.Length >= 4:
                copy[3] |= (byte)(1 << random.Next(8));
                return copy;
            case 3:
                return [.. copy, .. Compress(new byte[random.Next(4096)])];
            default:
                var garbage = new byte[1 + random.Next(32)];
                random.NextBytes(garbage);
                return [.. copy, .. garbage];
        }
    }
}
