namespace NanoNet.Persistence;

/// <summary>
/// One tensor read from a safetensors file: its name, the element type stored in the file, its shape,
/// and its values as float32 (converted from F16 or BF16), or null for a type that does not convert.
/// </summary>
public sealed class SafeTensor
{
    private readonly int[] _shape;
    private readonly float[]? _values;

    internal SafeTensor(string name, SafeTensorsDType dType, int[] shape, float[]? values)
    {
        Name = name;
        DType = dType;
        _shape = shape;
        _values = values;
    }

    /// <summary>The tensor's name in the file (NanoNet's are <c>{layer}/{weight}</c>).</summary>
    public string Name { get; }

    /// <summary>The element type stored in the file.</summary>
    public SafeTensorsDType DType { get; }

    /// <summary>The shape (row-major; empty for a scalar).</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>Whether <see cref="Values"/> is available (the stored type is F32, F16 or BF16).</summary>
    public bool HasFloat32Values => _values is not null;

    /// <summary>The values as float32, row-major.</summary>
    /// <exception cref="InvalidOperationException">The stored type does not convert to float32.</exception>
    public ReadOnlySpan<float> Values => _values ??
        throw new InvalidOperationException($"Tensor '{Name}' is stored as {DType}, which NanoNet does not read as float32 (it reads F32, F16 and BF16).");

    /// <summary>The tensor as a NanoNet <see cref="Tensor"/> (a copy of the values).</summary>
    public Tensor ToTensor() => Tensor.FromArray(Values.ToArray(), (int[])_shape.Clone());

    /// <summary>E.g. <c>dense/kernel F32 (784, 128)</c>.</summary>
    public override string ToString() => $"{Name} {DType} {Shapes.Format(_shape)}";
}
