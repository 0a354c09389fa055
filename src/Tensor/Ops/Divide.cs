using NanoNet.Diagnostics;
using System.Numerics.Tensors;
using NanoNet.Autograd;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>Y = A / B, element-wise with NumPy/PyTorch broadcasting (see <see cref="Add(Tensor, Tensor)"/>). IEEE division: x/0 is ±∞ or NaN.</summary>
    /// <remarks>
    /// Backward: dA += dY / B and dB −= dY · A / B² (computed as (dY / B) ⊙ Y), each summed over the axes
    /// that input was stretched on.
    /// </remarks>
    public static Tensor Divide(Tensor a, Tensor b)
    {
        long started = Profiler.Start();
        Tensor y = BroadcastBinary<DivideOperator>("Divide", a, b);
        if (Tape.ShouldRecord(a, b))
            Tape.Record(DivideEntry.Rent(y, a, b), a, b);
        Profiler.Stop("Divide", started, 0);
        return y;
    }

    private sealed class DivideEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor a = null!;
        private Tensor b = null!;

        public static DivideEntry Rent(Tensor y, Tensor a, Tensor b)
        {
            DivideEntry entry = Rent<DivideEntry>(y);
            (entry.a, entry.b) = (a, b);
            return entry;
        }

        public override void Backward(Tensor dY)
        {
            // q = dY / B at the output's shape: A's gradient, and (times Y = A/B) B's gradient with a minus sign.
            Tensor q = Tensor.Empty(dY.Shape);
            Broadcast.Binary<DivideOperator>(dY.Span, dY.Shape, b.Span, b.Shape, q.Span, dY.Shape);
            if (a.RequiresGrad)
                AccumulateBroadcastGradient(a, q.Span, dY.Shape);
            if (b.RequiresGrad)
            {
                TensorPrimitives.Multiply(q.Span, Output.Span, q.Span);
                AccumulateBroadcastGradient(b, q.Span, dY.Shape, subtract: true);
            }
        }
    }
}
