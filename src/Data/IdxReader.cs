using System.Buffers.Binary;
using System.IO.Compression;

namespace NanoNet.Data;

/// <summary>
/// Reads the IDX format of MNIST and Fashion-MNIST, gzipped (detected by its magic bytes) or not.
/// </summary>
/// <remarks>
/// <para>Byte layout (all sizes big-endian):</para>
/// <code>
/// offset 0      2 bytes   00 00            magic
/// offset 2      1 byte    element type     0x08 = unsigned byte, the only type these sets use
/// offset 3      1 byte    d                number of dimensions
/// offset 4      4·d bytes sizes            d 32-bit sizes, outermost first (e.g. N, rows, cols)
/// offset 4+4d   Π sizes   data             row-major, one byte per element, then the end of the file
/// </code>
/// <para>Nothing is trusted before it is checked: the element count is computed without overflow and
/// capped at <see cref="Array.MaxLength"/>; a plain file's length must be exactly header + elements
/// before anything is allocated; gzipped data (whose length is unknown until read) is read into a
/// buffer that grows only as bytes actually arrive; bytes after the data are an error.</para>
/// </remarks>
public static class IdxReader
{
    private const int FirstChunk = 1 << 16;

    /// <summary>Reads an IDX file of unsigned bytes.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">
    /// The file is not IDX, not unsigned bytes, claims more elements than an array holds, is truncated, has
    /// bytes after the data, or its gzip stream is corrupt; the message names the file.
    /// </exception>
    public static (int[] Shape, byte[] Data) ReadBytes(string path)
    {
        using Stream stream = OpenMaybeGzip(path);
        return ReadBytes(stream, path);
    }

    /// <summary>
    /// Reads IDX unsigned-byte data from a stream; <paramref name="sourceName"/> is used in errors. When the
    /// stream is seekable its remaining length is checked against the header before anything is allocated.
    /// </summary>
    /// <exception cref="InvalidDataException">As for <see cref="ReadBytes(string)"/>; the message names <paramref name="sourceName"/>.</exception>
    public static (int[] Shape, byte[] Data) ReadBytes(Stream stream, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Span<byte> header = stackalloc byte[4];
        ReadExactly(stream, header, sourceName, "the header");
        if (header[0] != 0 || header[1] != 0)
            throw new InvalidDataException($"{sourceName}: not an IDX file (magic bytes {header[0]:X2} {header[1]:X2}, expected 00 00).");
        if (header[2] != 0x08)
            throw new InvalidDataException($"{sourceName}: IDX element type 0x{header[2]:X2} is not supported (only 0x08, unsigned byte).");
        int rank = header[3];
        var shape = new int[rank]; // at most 255 ints
        Span<byte> size = stackalloc byte[4];
        for (int d = 0; d < rank; d++)
        {
            ReadExactly(stream, size, sourceName, $"dimension {d} of {rank}");
            int value = BinaryPrimitives.ReadInt32BigEndian(size);
            if (value < 0)
                throw new InvalidDataException($"{sourceName}: dimension {d} is negative ({value}).");
            shape[d] = value;
        }
        long length = ElementCount(shape, sourceName);
        long headerLength = 4 + 4L * rank;
        if (stream.CanSeek)
        {
            long expected = headerLength + length, actual = stream.Length;
            if (actual != expected)
                throw new InvalidDataException(
                    $"{sourceName}: {(actual < expected ? "truncated" : "trailing bytes")}: shape {Shapes.Format(shape)} needs {length} data bytes " +
                    $"after the {headerLength}-byte header ({expected} bytes in all), but the file has {actual - headerLength} of {length} ({actual} bytes).");
            var whole = new byte[length];
            ReadExactly(stream, whole, sourceName, $"the data ({length} bytes for shape {Shapes.Format(shape)})");
            return (shape, whole);
        }
        byte[] data = ReadGrowing(stream, length, sourceName, shape);
        Span<byte> probe = stackalloc byte[1];
        if (ReadSome(stream, probe, sourceName, "the end of the data") > 0)
            throw new InvalidDataException(
                $"{sourceName}: trailing bytes: the data of shape {Shapes.Format(shape)} ends after {headerLength + length} bytes, but the stream goes on.");
        return (shape, data);
    }

    /// <summary>The product of the sizes, rejecting (before it could wrap) any count above <see cref="Array.MaxLength"/>.</summary>
    private static long ElementCount(int[] shape, string sourceName)
    {
        if (Array.IndexOf(shape, 0) >= 0)
            return 0;
        long count = 1;
        foreach (int d in shape)
        {
            count *= d; // both factors ≤ Array.MaxLength < 2^31, so the product fits a long
            if (count > Array.MaxLength)
                throw new InvalidDataException(
                    $"{sourceName}: shape {Shapes.Format(shape)} has more than {Array.MaxLength} elements, more than an array can hold.");
        }
        return count;
    }

    /// <summary>
    /// Reads <paramref name="length"/> bytes from a stream of unknown length, growing the buffer only as
    /// data arrives (doubling from 64 KiB), so a short stream never costs the claimed size.
    /// </summary>
    private static byte[] ReadGrowing(Stream stream, long length, string sourceName, int[] shape)
    {
        var data = new byte[Math.Min(length, FirstChunk)];
        long total = 0;
        while (true)
        {
            ReadExactly(stream, data.AsSpan((int)total), sourceName, $"the data ({length} bytes for shape {Shapes.Format(shape)})", total, length);
            total = data.Length;
            if (total == length)
                return data;
            Array.Resize(ref data, (int)Math.Min(length, 2 * total));
        }
    }

    /// <summary>Opens a file, transparently decompressing it when it starts with the gzip magic bytes 1F 8B.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static Stream OpenMaybeGzip(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Data file not found: {path}", path);
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        int b0 = file.ReadByte(), b1 = file.ReadByte();
        file.Position = 0;
        if (b0 == 0x1F && b1 == 0x8B)
            return new BufferedStream(new GZipStream(file, CompressionMode.Decompress), 1 << 16);
        return file;
    }

    /// <summary>Fills <paramref name="buffer"/>; <paramref name="done"/> of <paramref name="whole"/> bytes of <paramref name="what"/> were read before it.</summary>
    private static void ReadExactly(Stream stream, Span<byte> buffer, string sourceName, string what, long done = 0, long whole = -1)
    {
        if (whole < 0)
            whole = buffer.Length;
        int total = 0;
        while (total < buffer.Length)
        {
            int read = ReadSome(stream, buffer[total..], sourceName, what);
            if (read == 0)
                throw new InvalidDataException($"{sourceName}: truncated: the file ended after {done + total} of {whole} bytes of {what}.");
            total += read;
        }
    }

    /// <summary>One <see cref="Stream.Read(Span{byte})"/>, with gzip errors renamed to name the file.</summary>
    private static int ReadSome(Stream stream, Span<byte> buffer, string sourceName, string what)
    {
        try
        {
            return stream.Read(buffer);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{sourceName}: corrupt compressed data while reading {what}: {e.Message}", e);
        }
    }
}
