namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// y = max x over <paramref name="axis"/> (negative counts from the end; removed from the shape, or kept
    /// with size 1 when <paramref name="keepDims"/> is set).
    /// Backward: the whole dY goes to the arg-max, dX[argmax] += dY; on ties the first occurrence (the first
    /// element in row-major order equal to the maximum) takes it all, the others get nothing.
    /// </summary>
    /// <exception cref="ArgumentException">The axis is out of range, or has size 0.</exception>
    public static Tensor Max(Tensor x, int axis, bool keepDims = false) =>
        AxisReduction.Forward(AxisReductionKind.Max, x, [axis], keepDims);

    /// <summary>
    /// y = max x over every axis in <paramref name="axes"/> (negative axes count from the end).
    /// Backward: dX[argmax] += dY, ties going to the first occurrence in row-major order.
    /// </summary>
    /// <exception cref="ArgumentException">An axis is out of range, given twice, or has size 0.</exception>
    public static Tensor Max(Tensor x, ReadOnlySpan<int> axes, bool keepDims = false) =>
        AxisReduction.Forward(AxisReductionKind.Max, x, axes, keepDims);

    /// <summary>
    /// y = min x over <paramref name="axis"/> (negative counts from the end).
    /// Backward: dX[argmin] += dY; on ties the first occurrence in row-major order takes it all.
    /// </summary>
    /// <exception cref="ArgumentException">The axis is out of range, or has size 0.</exception>
    public static Tensor Min(Tensor x, int axis, bool keepDims = false) =>
        AxisReduction.Forward(AxisReductionKind.Min, x, [axis], keepDims);

    /// <summary>
    /// y = min x over every axis in <paramref name="axes"/> (negative axes count from the end).
    /// Backward: dX[argmin] += dY, ties going to the first occurrence in row-major order.
    /// </summary>
    /// <exception cref="ArgumentException">An axis is out of range, given twice, or has size 0.</exception>
    public static Tensor Min(Tensor x, ReadOnlySpan<int> axes, bool keepDims = false) =>
        AxisReduction.Forward(AxisReductionKind.Min, x, axes, keepDims);
}
