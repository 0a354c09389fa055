using System.Buffers.Binary;
using System.IO.Compression;

namespace NanoNet.Data;

/// <summary>
/// Reads the IDX format of MNIST and Fashion-MNIST, gzipped (detected by its magic bytes) or not.
/// </summary>
/// <remarks>
/// Layout: two zero bytes, a type byte (0x08 = unsigned byte, the only type these sets use), a byte
/// with the number of dimensions d, then d big-endian 32-bit sizes, then the data row-major.
/// </remarks>
public static class IdxReader
{
    /// <summary>Reads an IDX file of unsigned bytes.</summary>
    /// <exception cref="InvalidDataException">The file is not IDX, not unsigned bytes, or is truncated; the message names the file.</exception>
    public static (int[] Shape, byte[] Data) ReadBytes(string path)
    {
        using Stream stream = OpenMaybeGzip(path);
        return ReadBytes(stream, path);
    }

    /// <summary>Reads IDX unsigned-byte data from a stream; <paramref name="sourceName"/> is used in errors.</summary>
    public static (int[] Shape, byte[] Data) ReadBytes(Stream stream, string sourceName)
    {
        Span<byte> header = stackalloc byte[4];
        ReadExactly(stream, header, sourceName, "the header");
        if (header[0] != 0 || header[1] != 0)
            throw new InvalidDataException($"{sourceName}: not an IDX file (magic bytes {header[0]:X2} {header[1]:X2}, expected 00 00).");
        if (header[2] != 0x08)
            throw new InvalidDataException($"{sourceName}: IDX element type 0x{header[2]:X2} is not supported (only 0x08, unsigned byte).");
        int rank = header[3];
        var shape = new int[rank];
        Span<byte> size = stackalloc byte[4];
        for (int d = 0; d < rank; d++)
        {
            ReadExactly(stream, size, sourceName, $"dimension {d}");
            int value = BinaryPrimitives.ReadInt32BigEndian(size);
            if (value < 0)
                throw new InvalidDataException($"{sourceName}: dimension {d} is negative ({value}).");
            shape[d] = value;
        }
        long length = 1;
        foreach (int d in shape) length *= d;
        if (length > Array.MaxLength)
            throw new InvalidDataException($"{sourceName}: {length} elements is too large.");
        var data = new byte[length];
        ReadExactly(stream, data, sourceName, $"the data ({length} bytes for shape ({string.Join(", ", shape)}))");
        return (shape, data);
    }

    /// <summary>Opens a file, transparently decompressing it when it starts with the gzip magic bytes 1F 8B.</summary>
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

    private static void ReadExactly(Stream stream, Span<byte> buffer, string sourceName, string what)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int read;
            try
            {
                read = stream.Read(buffer[total..]);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{sourceName}: corrupt compressed data while reading {what}: {e.Message}", e);
            }
            if (read == 0)
                throw new InvalidDataException($"{sourceName}: truncated: the file ended after {total} of {buffer.Length} bytes of {what}.");
            total += read;
        }
    }
}
