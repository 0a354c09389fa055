using NanoNet.Diagnostics;
using System.Numerics.Tensors;
using NanoNet.Autograd;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// Y = A ⊙ B, element-wise with NumPy/PyTorch broadcasting (see <see cref="Add(Tensor, Tensor)"/>).
    /// Identical shapes take a direct vectorised path.
    /// </summary>
    /// <remarks>Backward: dA += dY ⊙ B and dB += dY ⊙ A, each summed over the axes that input was stretched on.</remarks>
    public static Tensor Multiply(Tensor a, Tensor b)
    {
        long started = Profiler.Start();
        Tensor y;
        if (Shapes.Equal(a.Shape, b.Shape))
        {
            y = Tensor.EmptyLike(a);
            TensorPrimitives.Multiply(a.Span, b.Span, y.Span);
        }
        else
            y = BroadcastBinary<MultiplyOperator>("Multiply", a, b);
        if (Tape.ShouldRecord(a, b))
            Tape.Record(MultiplyEntry.Rent(y, a, b), a, b);
        Profiler.Stop("Multiply", started, 0);
        return y;
    }

    private sealed class MultiplyEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor a = null!;
        private Tensor b = null!;

        public static MultiplyEntry Rent(Tensor y, Tensor a, Tensor b)
        {
            MultiplyEntry entry = Rent<MultiplyEntry>(y);
            (entry.a, entry.b) = (a, b);
            return entry;
        }

        public override void Backward(Tensor dY)
        {
            if (Shapes.Equal(a.Shape, b.Shape))
            {
                // Same shapes: fused dA += dY ⊙ B with no scratch.
                if (a.RequiresGrad)
                    TensorPrimitives.MultiplyAdd(dY.Span, b.Span, a.EnsureGrad().Span, a.Grad!.Span);
                if (b.RequiresGrad)
                    TensorPrimitives.MultiplyAdd(dY.Span, a.Span, b.EnsureGrad().Span, b.Grad!.Span);
                return;
            }
            // Broadcast: form dY ⊙ (other input, stretched) at the output's shape, then sum it down.
            Tensor scratch = Tensor.Empty(dY.Shape);
            if (a.RequiresGrad)
            {
                Broadcast.Binary<MultiplyOperator>(dY.Span, dY.Shape, b.Span, b.Shape, scratch.Span, dY.Shape);
                AccumulateBroadcastGradient(a, scratch.Span, dY.Shape);
            }
            if (b.RequiresGrad)
            {
                Broadcast.Binary<MultiplyOperator>(dY.Span, dY.Shape, a.Span, a.Shape, scratch.Span, dY.Shape);
                AccumulateBroadcastGradient(b, scratch.Span, dY.Shape);
            }
        }
    }
}
