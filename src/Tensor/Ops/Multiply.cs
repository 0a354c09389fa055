using NanoNet.Diagnostics;
using System.Numerics.Tensors;
using NanoNet.Autograd;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>Y = A ⊙ B, element-wise, same shapes. Backward: dA += dY ⊙ B, dB += dY ⊙ A.</summary>
    public static Tensor Multiply(Tensor a, Tensor b)
    {
        long started = Profiler.Start();
        RequireSameShape("Multiply", a, b);
        var y = Tensor.EmptyLike(a);
        TensorPrimitives.Multiply(a.Span, b.Span, y.Span);
        if (Tape.ShouldRecord(a, b))
            Tape.Record(new MultiplyEntry(y, a, b), a, b);
        Profiler.Stop("Multiply", started, 0);
        return y;
    }

    private sealed class MultiplyEntry(Tensor y, Tensor a, Tensor b) : TapeEntry(y)
    {
        public override void Backward(Tensor dY)
        {
            if (a.RequiresGrad)
                TensorPrimitives.MultiplyAdd(dY.Span, b.Span, a.EnsureGrad().Span, a.Grad!.Span);
            if (b.RequiresGrad)
                TensorPrimitives.MultiplyAdd(dY.Span, a.Span, b.EnsureGrad().Span, b.Grad!.Span);
        }
    }
}
