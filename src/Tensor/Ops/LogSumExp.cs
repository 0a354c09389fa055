namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// y = log Σ exp x over <paramref name="axis"/>, computed stably as c + log Σ exp(x − c) with c = max x,
    /// so large inputs do not overflow. Backward: dX += softmax(x) · dY = exp(x − y) · dY.
    /// </summary>
    /// <exception cref="ArgumentException">The axis is out of range for x's shape.</exception>
    public static Tensor LogSumExp(Tensor x, int axis, bool keepDims = false) =>
        AxisReduction.Forward(AxisReductionKind.LogSumExp, x, [axis], keepDims);

    /// <summary>
    /// y = log Σ exp x over every axis in <paramref name="axes"/>, stably (the max is subtracted first).
    /// Backward: dX += exp(x − y) · dY.
    /// </summary>
    /// <exception cref="ArgumentException">An axis is out of range or given twice.</exception>
    public static Tensor LogSumExp(Tensor x, ReadOnlySpan<int> axes, bool keepDims = false) =>
        AxisReduction.Forward(AxisReductionKind.LogSumExp, x, axes, keepDims);
}
