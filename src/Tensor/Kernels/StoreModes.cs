using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NanoNet.Kernels;

/// <summary>
/// How a data-movement kernel writes what it read: <see cref="Overwrite"/> (a forward pass fills its
/// output) or <see cref="Accumulate"/> (a backward pass adds into a gradient that other ops also feed).
/// </summary>
/// <remarks>
/// The shape kernels (permute, window copy, index select) are generic over this struct parameter, so the
/// JIT compiles one specialised loop per mode with the choice inlined: no flag tested per element, no
/// virtual or delegate call (the same trick as TensorPrimitives' operator structs).
/// </remarks>
internal interface IStoreMode
{
    /// <summary>destination (=|+=) source, element-wise; same lengths.</summary>
    static abstract void Run(ReadOnlySpan<float> source, Span<float> destination);

    /// <summary>*destination (=|+=) value.</summary>
    static abstract unsafe void Element(float* destination, float value);

    /// <summary>destination[0..8) (=|+=) the eight lanes of value.</summary>
    static abstract unsafe void Vector(float* destination, Vector256<float> value);
}

/// <summary>destination = source.</summary>
internal readonly struct Overwrite : IStoreMode
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run(ReadOnlySpan<float> source, Span<float> destination) => source.CopyTo(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Element(float* destination, float value) => *destination = value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Vector(float* destination, Vector256<float> value) => value.Store(destination);
}

/// <summary>destination += source.</summary>
internal readonly struct Accumulate : IStoreMode
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run(ReadOnlySpan<float> source, Span<float> destination) => TensorPrimitives.Add(destination, source, destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Element(float* destination, float value) => *destination += value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Vector(float* destination, Vector256<float> value) => (Vector256.Load(destination) + value).Store(destination);
}
