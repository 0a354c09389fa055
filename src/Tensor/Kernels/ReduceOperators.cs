using System.Numerics.Tensors;

namespace NanoNet.Kernels;

/// <summary>
/// How a reduction combines numbers: a whole contiguous row into one value, or a row element-wise into
/// an accumulator row. Implemented by structs, so a kernel generic over them compiles to direct
/// (vectorised) <see cref="TensorPrimitives"/> calls, with no virtual call per element.
/// </summary>
internal interface IReduction
{
    /// <summary>The reduction of one contiguous row (not empty, unless the reduction has an identity).</summary>
    static abstract float Row(ReadOnlySpan<float> row);

    /// <summary>destination[i] = accumulator[i] ⊕ row[i].</summary>
    static abstract void Combine(ReadOnlySpan<float> accumulator, ReadOnlySpan<float> row, Span<float> destination);
}

/// <summary>Σ (the empty sum is 0).</summary>
internal readonly struct SumReduction : IReduction
{
    public static float Row(ReadOnlySpan<float> row) => TensorPrimitives.Sum(row);
    public static void Combine(ReadOnlySpan<float> accumulator, ReadOnlySpan<float> row, Span<float> destination) =>
        TensorPrimitives.Add(accumulator, row, destination);
}

/// <summary>max (NaN propagates; +0 counts above −0).</summary>
internal readonly struct MaxReduction : IReduction
{
    public static float Row(ReadOnlySpan<float> row) => TensorPrimitives.Max(row);
    public static void Combine(ReadOnlySpan<float> accumulator, ReadOnlySpan<float> row, Span<float> destination) =>
        TensorPrimitives.Max(accumulator, row, destination);
}

/// <summary>min (NaN propagates; −0 counts below +0).</summary>
internal readonly struct MinReduction : IReduction
{
    public static float Row(ReadOnlySpan<float> row) => TensorPrimitives.Min(row);
    public static void Combine(ReadOnlySpan<float> accumulator, ReadOnlySpan<float> row, Span<float> destination) =>
        TensorPrimitives.Min(accumulator, row, destination);
}

/// <summary>
/// A term f(v) of shifted values v = x − shift, summed by the two-pass reductions (variance: shift = mean,
/// LogSumExp: shift = max), with its slope for the backward pass. Applied in place to a chunk of v.
/// </summary>
internal interface IShiftedTerm
{
    /// <summary>v ← f(v).</summary>
    static abstract void Value(Span<float> shifted);

    /// <summary>v ← f'(v), up to a constant factor the op folds into its scale.</summary>
    static abstract void Slope(Span<float> shifted);
}

/// <summary>f(v) = v² (variance); slope 2v, the 2 left to the caller's scale.</summary>
internal readonly struct SquaredDeviation : IShiftedTerm
{
    public static void Value(Span<float> shifted) => TensorPrimitives.Multiply(shifted, shifted, shifted);
    public static void Slope(Span<float> shifted) { }
}

/// <summary>f(v) = eᵛ (LogSumExp); slope eᵛ.</summary>
internal readonly struct ShiftedExp : IShiftedTerm
{
    public static void Value(Span<float> shifted) => TensorPrimitives.Exp(shifted, shifted);
    public static void Slope(Span<float> shifted) => TensorPrimitives.Exp(shifted, shifted);
}
