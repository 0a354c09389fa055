using NanoNet.Diagnostics;
using System.Numerics.Tensors;
using NanoNet.Autograd;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// Y = A + B, element-wise with NumPy/PyTorch broadcasting (shapes aligned from the right; a size-1 or
    /// missing axis stretches): (3, 1, 5) + (4, 1) is (3, 4, 5). Identical shapes take a direct vectorised path.
    /// </summary>
    /// <remarks>Backward: dA += dY and dB += dY, each summed over the axes that input was stretched on.</remarks>
    public static Tensor Add(Tensor a, Tensor b)
    {
        long started = Profiler.Start();
        Tensor y;
        if (Shapes.Equal(a.Shape, b.Shape))
        {
            y = Tensor.EmptyLike(a);
            TensorPrimitives.Add(a.Span, b.Span, y.Span);
        }
        else
            y = BroadcastBinary<AddOperator>("Add", a, b);
        if (Tape.ShouldRecord(a, b))
            Tape.Record(AddEntry.Rent(y), a, b);
        Profiler.Stop("Add", started, 0);
        return y;
    }

    private sealed class AddEntry : TapeEntry
    {
        public static AddEntry Rent(Tensor y) => Rent<AddEntry>(y);

        public override void Backward(Tensor dY)
        {
            Tensor a = GetInput(0), b = GetInput(1);
            if (a.RequiresGrad)
                AccumulateBroadcastGradient(a, dY.Span, dY.Shape);
            if (b.RequiresGrad)
                AccumulateBroadcastGradient(b, dY.Span, dY.Shape);
        }
    }

    internal static void RequireSameShape(string op, Tensor a, Tensor b)
    {
        if (!Shapes.Equal(a.Shape, b.Shape))
            throw new ArgumentException($"{op}: shapes differ: {Shapes.Format(a.Shape)} and {Shapes.Format(b.Shape)}.");
    }
}
