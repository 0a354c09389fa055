using System.Buffers.Binary;
using System.Text;

namespace NanoNet.Examples.Predict;

/// <summary>
/// Writes a tensor as a NumPy <c>.npy</c> file (format version 1.0), which <c>numpy.load</c> reads:
/// the magic bytes <c>\x93NUMPY</c>, the version bytes 1 and 0, a 2-byte little-endian header length
/// H, H bytes of header (a Python dict literal <c>{'descr': '&lt;f4', 'fortran_order': False, 'shape': (…), }</c>
/// padded with spaces and ended by <c>\n</c> so the data starts at a multiple of 64), then the float32
/// elements, little-endian, row-major.
/// </summary>
public static class NpyFile
{
    /// <summary>Writes <paramref name="tensor"/> to <paramref name="path"/>.</summary>
    public static void Write(string path, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        int[] shape = tensor.Shape.ToArray();
        string shapeText = shape.Length == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape)})";
        string header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': {shapeText}, }}";
        int unpadded = 10 + header.Length + 1;
        header = header.PadRight(header.Length + (64 - unpadded % 64) % 64) + "\n";
        using var stream = File.Create(path);
        stream.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        Span<byte> length = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)header.Length);
        stream.Write(length);
        stream.Write(Encoding.ASCII.GetBytes(header));
        ReadOnlySpan<float> values = tensor.Span;
        byte[] buffer = new byte[4 * values.Length];
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteSingleLittleEndian(buffer.AsSpan(4 * i), values[i]);
        stream.Write(buffer);
    }
}
