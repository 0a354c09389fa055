namespace NanoNet.Persistence;

/// <summary>
/// The element types the safetensors format names in a tensor's <c>"dtype"</c>. NanoNet writes
/// <see cref="F32"/> and reads <see cref="F32"/>, <see cref="F16"/> and <see cref="BF16"/> as float32; the
/// other types are recognised (so their byte lengths are checked) but do not convert.
/// </summary>
public enum SafeTensorsDType
{
    /// <summary>IEEE 754 single precision, 4 bytes little-endian.</summary>
    F32,
    /// <summary>IEEE 754 half precision, 2 bytes little-endian; converts exactly to float32.</summary>
    F16,
    /// <summary>bfloat16: the upper 16 bits of a float32, 2 bytes little-endian; converts exactly to float32.</summary>
    BF16,
    /// <summary>IEEE 754 double precision, 8 bytes.</summary>
    F64,
    /// <summary>8-bit float, 4 exponent bits and 3 mantissa bits.</summary>
    F8_E4M3,
    /// <summary>8-bit float, 5 exponent bits and 2 mantissa bits.</summary>
    F8_E5M2,
    /// <summary>Boolean, 1 byte.</summary>
    BOOL,
    /// <summary>Unsigned 8-bit integer.</summary>
    U8,
    /// <summary>Signed 8-bit integer.</summary>
    I8,
    /// <summary>Unsigned 16-bit integer.</summary>
    U16,
    /// <summary>Signed 16-bit integer.</summary>
    I16,
    /// <summary>Unsigned 32-bit integer.</summary>
    U32,
    /// <summary>Signed 32-bit integer.</summary>
    I32,
    /// <summary>Unsigned 64-bit integer.</summary>
    U64,
    /// <summary>Signed 64-bit integer.</summary>
    I64,
}

/// <summary>Sizes and names of <see cref="SafeTensorsDType"/> values.</summary>
public static class SafeTensorsDTypes
{
    /// <summary>Bytes per element.</summary>
    public static int SizeOf(SafeTensorsDType type) => type switch
    {
        SafeTensorsDType.F64 or SafeTensorsDType.U64 or SafeTensorsDType.I64 => 8,
        SafeTensorsDType.F32 or SafeTensorsDType.U32 or SafeTensorsDType.I32 => 4,
        SafeTensorsDType.F16 or SafeTensorsDType.BF16 or SafeTensorsDType.U16 or SafeTensorsDType.I16 => 2,
        _ => 1,
    };

    /// <summary>Whether NanoNet reads this type as float32 (F32, F16, BF16).</summary>
    public static bool ConvertsToFloat32(SafeTensorsDType type) =>
        type is SafeTensorsDType.F32 or SafeTensorsDType.F16 or SafeTensorsDType.BF16;

    /// <summary>The type spelled <paramref name="name"/> in a header (exact, upper case), or false.</summary>
    public static bool TryParse(string name, out SafeTensorsDType type)
    {
        foreach (SafeTensorsDType candidate in Enum.GetValues<SafeTensorsDType>())
            if (string.Equals(candidate.ToString(), name, StringComparison.Ordinal))
            {
                type = candidate;
                return true;
            }
        type = default;
        return false;
    }
}
