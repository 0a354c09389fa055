using NanoNet.Diagnostics;
using System.Numerics.Tensors;
using NanoNet.Autograd;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>Y = A + B, element-wise, same shapes. Backward: dA += dY, dB += dY.</summary>
    public static Tensor Add(Tensor a, Tensor b)
    {
        long started = Profiler.Start();
        RequireSameShape("Add", a, b);
        var y = Tensor.EmptyLike(a);
        TensorPrimitives.Add(a.Span, b.Span, y.Span);
        if (Tape.ShouldRecord(a, b))
            Tape.Record(new AddEntry(y, a, b), a, b);
        Profiler.Stop("Add", started, 0);
        return y;
    }

    private sealed class AddEntry(Tensor y, Tensor a, Tensor b) : TapeEntry(y)
    {
        public override void Backward(Tensor dY)
        {
            if (a.RequiresGrad)
                TensorPrimitives.Add(a.EnsureGrad().Span, dY.Span, a.Grad!.Span);
            if (b.RequiresGrad)
                TensorPrimitives.Add(b.EnsureGrad().Span, dY.Span, b.Grad!.Span);
        }
    }

    internal static void RequireSameShape(string op, Tensor a, Tensor b)
    {
        if (!Shapes.Equal(a.Shape, b.Shape))
            throw new ArgumentException($"{op}: shapes differ: {Shapes.Format(a.Shape)} and {Shapes.Format(b.Shape)}.");
    }
}
