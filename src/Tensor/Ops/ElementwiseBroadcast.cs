using System.Numerics.Tensors;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    // Shared plumbing of the broadcasting element-wise ops (Add, Subtract, Multiply, Divide, Minimum,
    // Maximum, Where, the comparisons): the forward allocation and the backward "sum over the stretched
    // axes". Broadcasting follows NumPy/PyTorch; see Kernels/BroadcastShape.cs for the rule.

    /// <summary>y = f(a, b) broadcast; identical shapes go straight to the span primitive.</summary>
    private static Tensor BroadcastBinary<TOp>(string op, Tensor a, Tensor b) where TOp : struct, IBinaryOperator
    {
        if (Shapes.Equal(a.Shape, b.Shape))
        {
            var same = Tensor.EmptyLike(a);
            TOp.Invoke(a.Span, b.Span, same.Span);
            return same;
        }
        Span<int> shape = stackalloc int[Math.Max(a.Rank, b.Rank)];
        BroadcastShape.Compute(a.Shape, b.Shape, shape, op);
        var y = Tensor.Empty(shape);
        Broadcast.Binary<TOp>(a.Span, a.Shape, b.Span, b.Shape, y.Span, y.Shape);
        return y;
    }

    /// <summary>
    /// input.grad += g (or −= when <paramref name="subtract"/>), where g is shaped like the op's output:
    /// summed over every axis the input was stretched on, so a broadcast input gets the total of all the
    /// places its values were used.
    /// </summary>
    private static void AccumulateBroadcastGradient(Tensor input, ReadOnlySpan<float> g, ReadOnlySpan<int> outShape, bool subtract = false)
    {
        Span<float> grad = input.EnsureGrad().Span;
        if (Shapes.Equal(input.Shape, outShape))
        {
            if (subtract)
                TensorPrimitives.Subtract(grad, g, grad);
            else
                TensorPrimitives.Add(grad, g, grad);
        }
        else
            Broadcast.SumInto(g, outShape, grad, input.Shape, subtract);
    }
}
