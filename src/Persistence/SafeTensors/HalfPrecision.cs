using System.Buffers.Binary;

namespace NanoNet.Persistence;

/// <summary>IEEE 754 half precision (safetensors F16) to float32: every half value is exactly a float32.</summary>
internal static class HalfPrecision
{
    /// <summary>Converts little-endian halves in <paramref name="bytes"/> (2 bytes each) into <paramref name="values"/>.</summary>
    public static void ToSingle(ReadOnlySpan<byte> bytes, Span<float> values)
    {
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes.Slice(2 * i, 2));
    }
}
