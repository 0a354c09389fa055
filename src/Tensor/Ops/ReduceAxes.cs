using System.Numerics.Tensors;
using NanoNet.Autograd;
using NanoNet.Diagnostics;
using NanoNet.Kernels;
using NanoNet.Memory;

namespace NanoNet;

/// <summary>The reductions over axes that <see cref="Ops"/> offers (Sum, Mean, Max, Min, Variance, LogSumExp).</summary>
internal enum AxisReductionKind { Sum, Mean, Max, Min, Variance, LogSumExp }

/// <summary>
/// The shared forward and backward of every reduction over axes: validate the axes, lay x out as
/// (outer, reduced, inner) blocks (gathering it first when the axes are scattered), run the kernel, and
/// record one tape entry whose backward runs the matching gradient kernel.
/// </summary>
/// <remarks>
/// Forward and backward per kind, with n the number of elements reduced into each output:
/// <list type="table">
/// <item><term>Sum</term><description>y = Σ x; dX += dY (broadcast over the reduced axes).</description></item>
/// <item><term>Mean</term><description>y = Σ x / n; dX += dY / n.</description></item>
/// <item><term>Max, Min</term><description>y = max x (min x); the whole dY goes to the first element (row-major) equal to y.</description></item>
/// <item><term>Variance</term><description>m = Σ x / n, y = Σ (x − m)² / n (two passes); dX += 2 (x − m) / n · dY.</description></item>
/// <item><term>LogSumExp</term><description>c = max x, y = c + log Σ exp(x − c); dX += exp(x − y) · dY = softmax(x) · dY.</description></item>
/// </list>
/// </remarks>
internal static class AxisReduction
{
    /// <summary>The op's name (a constant: Enum.ToString would box the kind on every call).</summary>
    private static string Name(AxisReductionKind kind) => kind switch
    {
        AxisReductionKind.Sum => "Sum",
        AxisReductionKind.Mean => "Mean",
        AxisReductionKind.Max => "Max",
        AxisReductionKind.Min => "Min",
        AxisReductionKind.Variance => "Variance",
        _ => "LogSumExp",
    };

    public static Tensor Forward(AxisReductionKind kind, Tensor x, ReadOnlySpan<int> axes, bool keepDims)
    {
        ArgumentNullException.ThrowIfNull(x);
        string op = Name(kind);
        long started = Profiler.Start();
        ReduceLayout layout = ReduceLayout.Create(op, x.Shape, axes, keepDims);
        (int outer, int reduced, int inner) = (layout.Outer, layout.Reduced, layout.Inner);
        if (kind is AxisReductionKind.Max or AxisReductionKind.Min && reduced == 0 && (long)outer * inner > 0)
            throw new ArgumentException($"{op}: cannot reduce over an axis of size 0 (shape {Shapes.Format(x.Shape)}, axes {Shapes.Format(axes)}).");

        Tensor source = x;
        if (layout.IsPermuted)
        {
            source = Tensor.Empty(x.Length);
            ReduceGather.Gather(x.Span, source.Span, layout.GatherDimensions!, layout.GatherStrides!);
        }
        ReadOnlySpan<float> xs = source.Span;
        var y = Tensor.Empty(layout.OutputShape);
        Span<float> ys = y.Span;
        bool record = Tape.ShouldRecord(x);
        Tensor? statistic = null;
        int[]? winners = null;
        switch (kind)
        {
            case AxisReductionKind.Sum:
                ReduceKernels.Sum(xs, ys, outer, reduced, inner);
                break;
            case AxisReductionKind.Mean:
                ReduceKernels.Sum(xs, ys, outer, reduced, inner);
                TensorPrimitives.Multiply(ys, 1f / reduced, ys); // n = 0 gives 0 · ∞ = NaN, the mean of nothing
                break;
            case AxisReductionKind.Max or AxisReductionKind.Min:
                if (kind == AxisReductionKind.Max)
                    ReduceKernels.Max(xs, ys, outer, reduced, inner);
                else
                    ReduceKernels.Min(xs, ys, outer, reduced, inner);
                if (record)
                {
                    winners = StepMemory.NewInts(ys.Length);
                    ReduceKernels.FirstIndexOf(xs, ys, winners.AsSpan(0, ys.Length), outer, reduced, inner);
                }
                break;
            case AxisReductionKind.Variance:
                statistic = Tensor.Empty(layout.OutputShape); // the mean, which backward needs too
                ReduceKernels.Sum(xs, statistic.Span, outer, reduced, inner);
                TensorPrimitives.Multiply(statistic.Span, 1f / reduced, statistic.Span);
                ReduceKernels.SumSquaredDeviations(xs, statistic.Span, ys, outer, reduced, inner);
                TensorPrimitives.Multiply(ys, 1f / reduced, ys);
                break;
            case AxisReductionKind.LogSumExp:
                Tensor shift = Tensor.Empty(layout.OutputShape);
                Span<float> c = shift.Span;
                if (reduced == 0)
                    c.Clear();
                else
                    ReduceKernels.Max(xs, c, outer, reduced, inner);
                for (int t = 0; t < c.Length; t++)
                    if (!float.IsFinite(c[t]))
                        c[t] = 0f; // all −∞ (or a +∞): shifting would make ∞ − ∞ = NaN; unshifted gives −∞ (or +∞)
                ReduceKernels.SumShiftedExp(xs, c, ys, outer, reduced, inner);
                TensorPrimitives.Log(ys, ys);
                TensorPrimitives.Add(ys, c, ys);
                break;
        }
        if (record)
            Tape.Record(AxisReductionEntry.Rent(y, x, kind, layout, source, statistic, winners), x);
        Profiler.Stop(op, started, 0);
        return y;
    }

    /// <summary>The backward of one reduction; the kernel runs in the (outer, reduced, inner) layout, then scatters back if x was gathered.</summary>
    private sealed class AxisReductionEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor x = null!;
        private AxisReductionKind kind;
        private ReduceLayout layout;
        private Tensor source = null!;
        private Tensor? mean;
        private int[]? winners;

        public static AxisReductionEntry Rent(Tensor y, Tensor x, AxisReductionKind kind, ReduceLayout layout, Tensor source, Tensor? mean, int[]? winners)
        {
            AxisReductionEntry entry = Rent<AxisReductionEntry>(y);
            entry.x = x;
            entry.kind = kind;
            entry.layout = layout;
            entry.source = source;
            entry.mean = mean;
            entry.winners = winners;
            return entry;
        }

        public override string OpName => Name(kind);

        public override void Backward(Tensor dY)
        {
            (int outer, int reduced, int inner) = (layout.Outer, layout.Reduced, layout.Inner);
            Tensor? gathered = layout.IsPermuted ? Tensor.EmptyZeroed([x.Length]) : null;
            Span<float> dX = gathered is not null ? gathered.Span : x.EnsureGrad().Span;
            ReadOnlySpan<float> dy = dY.Span;
            switch (kind)
            {
                case AxisReductionKind.Sum: ReduceKernels.BroadcastAdd(dy, 1f, dX, outer, reduced, inner); break;
                case AxisReductionKind.Mean: ReduceKernels.BroadcastAdd(dy, 1f / reduced, dX, outer, reduced, inner); break;
                case AxisReductionKind.Max or AxisReductionKind.Min: ReduceKernels.ScatterAdd(dy, winners.AsSpan(0, dy.Length), dX); break;
                case AxisReductionKind.Variance:
                    ReduceKernels.SquaredDeviationsBackward(source.Span, mean!.Span, dy, 2f / reduced, dX, outer, reduced, inner);
                    break;
                case AxisReductionKind.LogSumExp:
                    ReduceKernels.LogSumExpBackward(source.Span, Output.Span, dy, dX, outer, reduced, inner);
                    break;
            }
            if (gathered is not null)
                ReduceGather.ScatterAdd(gathered.Span, x.EnsureGrad().Span, layout.GatherDimensions!, layout.GatherStrides!);
        }
    }
}
