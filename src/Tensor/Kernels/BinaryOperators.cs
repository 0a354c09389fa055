using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NanoNet.Kernels;

/// <summary>
/// An element-wise binary function y = f(a, b), given as a struct so a generic kernel
/// (<c>where TOp : struct, IBinaryOperator</c>) is compiled once per operator with every call inlined:
/// no delegate or virtual call per element or per run.
/// </summary>
/// <remarks>
/// Shape legend: a, b, y are spans of one length n (the inner run of a broadcast), or a single value
/// repeated along the run (the input stretched on the inner axis).
/// </remarks>
internal interface IBinaryOperator
{
    /// <summary>f on one pair of values (the reference and the odd single element).</summary>
    static abstract float Invoke(float a, float b);

    /// <summary>y[i] = f(a[i], b[i]): both inputs real along the run.</summary>
    static abstract void Invoke(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y);

    /// <summary>y[i] = f(a, b[i]): a stretched along the run.</summary>
    static abstract void Invoke(float a, ReadOnlySpan<float> b, Span<float> y);

    /// <summary>y[i] = f(a[i], b): b stretched along the run.</summary>
    static abstract void Invoke(ReadOnlySpan<float> a, float b, Span<float> y);
}

/// <summary>a + b.</summary>
internal readonly struct AddOperator : IBinaryOperator
{
    public static float Invoke(float a, float b) => a + b;
    public static void Invoke(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Add(a, b, y);
    public static void Invoke(float a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Add(b, a, y); // + commutes exactly in IEEE arithmetic
    public static void Invoke(ReadOnlySpan<float> a, float b, Span<float> y) => TensorPrimitives.Add(a, b, y);
}

/// <summary>a − b.</summary>
internal readonly struct SubtractOperator : IBinaryOperator
{
    public static float Invoke(float a, float b) => a - b;
    public static void Invoke(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Subtract(a, b, y);
    public static void Invoke(float a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Subtract(a, b, y);
    public static void Invoke(ReadOnlySpan<float> a, float b, Span<float> y) => TensorPrimitives.Subtract(a, b, y);
}

/// <summary>a · b.</summary>
internal readonly struct MultiplyOperator : IBinaryOperator
{
    public static float Invoke(float a, float b) => a * b;
    public static void Invoke(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Multiply(a, b, y);
    public static void Invoke(float a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Multiply(b, a, y);
    public static void Invoke(ReadOnlySpan<float> a, float b, Span<float> y) => TensorPrimitives.Multiply(a, b, y);
}

/// <summary>a / b.</summary>
internal readonly struct DivideOperator : IBinaryOperator
{
    public static float Invoke(float a, float b) => a / b;
    public static void Invoke(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Divide(a, b, y);
    public static void Invoke(float a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Divide(a, b, y);
    public static void Invoke(ReadOnlySpan<float> a, float b, Span<float> y) => TensorPrimitives.Divide(a, b, y);
}

/// <summary>min(a, b), IEEE 754:2019 minimum: NaN propagates, −0 is below +0.</summary>
internal readonly struct MinimumOperator : IBinaryOperator
{
    public static float Invoke(float a, float b) => Math.Min(a, b);
    public static void Invoke(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Min(a, b, y);
    public static void Invoke(float a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Min(b, a, y);
    public static void Invoke(ReadOnlySpan<float> a, float b, Span<float> y) => TensorPrimitives.Min(a, b, y);
}

/// <summary>max(a, b), IEEE 754:2019 maximum: NaN propagates, +0 is above −0.</summary>
internal readonly struct MaximumOperator : IBinaryOperator
{
    public static float Invoke(float a, float b) => Math.Max(a, b);
    public static void Invoke(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Max(a, b, y);
    public static void Invoke(float a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Max(b, a, y);
    public static void Invoke(ReadOnlySpan<float> a, float b, Span<float> y) => TensorPrimitives.Max(a, b, y);
}

// ---- operators TensorPrimitives has no primitive for: written once as a vector function --------------

/// <summary>
/// A binary function written for one <see cref="Vector{T}"/> of lanes and for one value; <see cref="VectorLoop"/>
/// turns it into the three span cases of <see cref="IBinaryOperator"/>.
/// </summary>
internal interface IVectorBinaryOperator
{
    /// <summary>f on one value of each input.</summary>
    static abstract float Invoke(float a, float b);

    /// <summary>f lane by lane.</summary>
    static abstract Vector<float> Invoke(Vector<float> a, Vector<float> b);
}

/// <summary>The span loops of an <see cref="IVectorBinaryOperator"/>: whole vectors, then a scalar tail.</summary>
internal static class VectorLoop
{
    /// <summary>y[i] = f(a[i], b[i]).</summary>
    public static void Apply<TOp>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) where TOp : struct, IVectorBinaryOperator
    {
        int n = y.Length, i = 0;
        if (a.Length < n || b.Length < n)
            throw new ArgumentException("Input spans are shorter than the output.");
        if (Vector.IsHardwareAccelerated)
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
                TOp.Invoke(Vector.LoadUnsafe(ref MemoryMarshal.GetReference(a), (nuint)i), Vector.LoadUnsafe(ref MemoryMarshal.GetReference(b), (nuint)i))
                    .StoreUnsafe(ref MemoryMarshal.GetReference(y), (nuint)i);
        for (; i < n; i++)
            y[i] = TOp.Invoke(a[i], b[i]);
    }

    /// <summary>y[i] = f(a, b[i]).</summary>
    public static void Apply<TOp>(float a, ReadOnlySpan<float> b, Span<float> y) where TOp : struct, IVectorBinaryOperator
    {
        int n = y.Length, i = 0;
        if (b.Length < n)
            throw new ArgumentException("Input span is shorter than the output.");
        if (Vector.IsHardwareAccelerated)
        {
            var va = new Vector<float>(a);
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
                TOp.Invoke(va, Vector.LoadUnsafe(ref MemoryMarshal.GetReference(b), (nuint)i)).StoreUnsafe(ref MemoryMarshal.GetReference(y), (nuint)i);
        }
        for (; i < n; i++)
            y[i] = TOp.Invoke(a, b[i]);
    }

    /// <summary>y[i] = f(a[i], b).</summary>
    public static void Apply<TOp>(ReadOnlySpan<float> a, float b, Span<float> y) where TOp : struct, IVectorBinaryOperator
    {
        int n = y.Length, i = 0;
        if (a.Length < n)
            throw new ArgumentException("Input span is shorter than the output.");
        if (Vector.IsHardwareAccelerated)
        {
            var vb = new Vector<float>(b);
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
                TOp.Invoke(Vector.LoadUnsafe(ref MemoryMarshal.GetReference(a), (nuint)i), vb).StoreUnsafe(ref MemoryMarshal.GetReference(y), (nuint)i);
        }
        for (; i < n; i++)
            y[i] = TOp.Invoke(a[i], b);
    }

    /// <summary>1 where <paramref name="condition"/> holds, else 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Mask(Vector<int> condition) => Vector.ConditionalSelect(condition, Vector<float>.One, Vector<float>.Zero);
}

/// <summary>1 where a &gt; b, else 0 (0 when either is NaN).</summary>
internal readonly struct GreaterOperator : IBinaryOperator, IVectorBinaryOperator
{
    public static float Invoke(float a, float b) => a > b ? 1f : 0f;
    public static Vector<float> Invoke(Vector<float> a, Vector<float> b) => VectorLoop.Mask(Vector.GreaterThan(a, b));
    public static void Invoke(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => VectorLoop.Apply<GreaterOperator>(a, b, y);
    public static void Invoke(float a, ReadOnlySpan<float> b, Span<float> y) => VectorLoop.Apply<GreaterOperator>(a, b, y);
    public static void Invoke(ReadOnlySpan<float> a, float b, Span<float> y) => VectorLoop.Apply<GreaterOperator>(a, b, y);
}

/// <summary>1 where a ≥ b, else 0 (0 when either is NaN).</summary>
internal readonly struct GreaterEqualOperator : IBinaryOperator, IVectorBinaryOperator
{
    public static float Invoke(float a, float b) => a >= b ? 1f : 0f;
    public static Vector<float> Invoke(Vector<float> a, Vector<float> b) => VectorLoop.Mask(Vector.GreaterThanOrEqual(a, b));
    public static void Invoke(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => VectorLoop.Apply<GreaterEqualOperator>(a, b, y);
    public static void Invoke(float a, ReadOnlySpan<float> b, Span<float> y) => VectorLoop.Apply<GreaterEqualOperator>(a, b, y);
    public static void Invoke(ReadOnlySpan<float> a, float b, Span<float> y) => VectorLoop.Apply<GreaterEqualOperator>(a, b, y);
}

/// <summary>1 where a &lt; b, else 0 (0 when either is NaN).</summary>
internal readonly struct LessOperator : IBinaryOperator, IVectorBinaryOperator
{
    public static float Invoke(float a, float b) => a < b ? 1f : 0f;
    public static Vector<float> Invoke(Vector<float> a, Vector<float> b) => VectorLoop.Mask(Vector.LessThan(a, b));
    public static void Invoke(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => VectorLoop.Apply<LessOperator>(a, b, y);
    public static void Invoke(float a, ReadOnlySpan<float> b, Span<float> y) => VectorLoop.Apply<LessOperator>(a, b, y);
    public static void Invoke(ReadOnlySpan<float> a, float b, Span<float> y) => VectorLoop.Apply<LessOperator>(a, b, y);
}

/// <summary>1 where a ≤ b, else 0 (0 when either is NaN).</summary>
internal readonly struct LessEqualOperator : IBinaryOperator, IVectorBinaryOperator
{
    public static float Invoke(float a, float b) => a <= b ? 1f : 0f;
    public static Vector<float> Invoke(Vector<float> a, Vector<float> b) => VectorLoop.Mask(Vector.LessThanOrEqual(a, b));
    public static void Invoke(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => VectorLoop.Apply<LessEqualOperator>(a, b, y);
    public static void Invoke(float a, ReadOnlySpan<float> b, Span<float> y) => VectorLoop.Apply<LessEqualOperator>(a, b, y);
    public static void Invoke(ReadOnlySpan<float> a, float b, Span<float> y) => VectorLoop.Apply<LessEqualOperator>(a, b, y);
}

/// <summary>1 where a = b, else 0 (−0 equals +0; NaN equals nothing).</summary>
internal readonly struct EqualOperator : IBinaryOperator, IVectorBinaryOperator
{
    public static float Invoke(float a, float b) => a == b ? 1f : 0f;
    public static Vector<float> Invoke(Vector<float> a, Vector<float> b) => VectorLoop.Mask(Vector.Equals(a, b));
    public static void Invoke(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => VectorLoop.Apply<EqualOperator>(a, b, y);
    public static void Invoke(float a, ReadOnlySpan<float> b, Span<float> y) => VectorLoop.Apply<EqualOperator>(a, b, y);
    public static void Invoke(ReadOnlySpan<float> a, float b, Span<float> y) => VectorLoop.Apply<EqualOperator>(a, b, y);
}

/// <summary>1 where a ≠ b, else 0 (the exact complement of <see cref="EqualOperator"/>: NaN ≠ anything).</summary>
internal readonly struct NotEqualOperator : IBinaryOperator, IVectorBinaryOperator
{
    public static float Invoke(float a, float b) => a != b ? 1f : 0f;
    public static Vector<float> Invoke(Vector<float> a, Vector<float> b) => Vector<float>.One - VectorLoop.Mask(Vector.Equals(a, b));
    public static void Invoke(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => VectorLoop.Apply<NotEqualOperator>(a, b, y);
    public static void Invoke(float a, ReadOnlySpan<float> b, Span<float> y) => VectorLoop.Apply<NotEqualOperator>(a, b, y);
    public static void Invoke(ReadOnlySpan<float> a, float b, Span<float> y) => VectorLoop.Apply<NotEqualOperator>(a, b, y);
}

/// <summary>
/// The share of max(a, b)'s gradient that goes to a: 1 where a &gt; b, ½ on a tie (the other ½ goes to b),
/// 0 where b wins (or either is NaN, so a NaN's gradient goes to b).
/// </summary>
internal readonly struct MaximumShareOperator : IBinaryOperator, IVectorBinaryOperator
{
    public static float Invoke(float a, float b) => a > b ? 1f : a == b ? 0.5f : 0f;
    public static Vector<float> Invoke(Vector<float> a, Vector<float> b) =>
        Vector.ConditionalSelect(Vector.GreaterThan(a, b), Vector<float>.One,
            Vector.ConditionalSelect(Vector.Equals(a, b), new Vector<float>(0.5f), Vector<float>.Zero));
    public static void Invoke(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => VectorLoop.Apply<MaximumShareOperator>(a, b, y);
    public static void Invoke(float a, ReadOnlySpan<float> b, Span<float> y) => VectorLoop.Apply<MaximumShareOperator>(a, b, y);
    public static void Invoke(ReadOnlySpan<float> a, float b, Span<float> y) => VectorLoop.Apply<MaximumShareOperator>(a, b, y);
}

/// <summary>The share of min(a, b)'s gradient that goes to a: 1 where a &lt; b, ½ on a tie, 0 otherwise.</summary>
internal readonly struct MinimumShareOperator : IBinaryOperator, IVectorBinaryOperator
{
    public static float Invoke(float a, float b) => a < b ? 1f : a == b ? 0.5f : 0f;
    public static Vector<float> Invoke(Vector<float> a, Vector<float> b) =>
        Vector.ConditionalSelect(Vector.LessThan(a, b), Vector<float>.One,
            Vector.ConditionalSelect(Vector.Equals(a, b), new Vector<float>(0.5f), Vector<float>.Zero));
    public static void Invoke(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => VectorLoop.Apply<MinimumShareOperator>(a, b, y);
    public static void Invoke(float a, ReadOnlySpan<float> b, Span<float> y) => VectorLoop.Apply<MinimumShareOperator>(a, b, y);
    public static void Invoke(ReadOnlySpan<float> a, float b, Span<float> y) => VectorLoop.Apply<MinimumShareOperator>(a, b, y);
}
