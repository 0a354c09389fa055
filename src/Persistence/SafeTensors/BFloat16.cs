using System.Buffers.Binary;

namespace NanoNet.Persistence;

/// <summary>bfloat16 (safetensors BF16) to float32: a bfloat16 is the upper 16 bits of a float32, so the conversion is exact.</summary>
internal static class BFloat16
{
    /// <summary>Converts little-endian bfloat16 values in <paramref name="bytes"/> (2 bytes each) into <paramref name="values"/>.</summary>
    public static void ToSingle(ReadOnlySpan<byte> bytes, Span<float> values)
    {
        for (int i = 0; i < values.Length; i++)
            values[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes.Slice(2 * i, 2)) << 16);
    }
}
