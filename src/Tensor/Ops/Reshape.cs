using System.Numerics.Tensors;
using NanoNet.Autograd;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// A view of <paramref name="x"/> with a new shape (no copy); one dimension may be -1 (inferred).
    /// Backward: the gradient has the same row-major layout, so dX += dY element by element.
    /// </summary>
    public static Tensor Reshape(Tensor x, params int[] shape)
    {
        int[] resolved = ResolveShape(x, shape);
        Tensor y = x.View(resolved);
        if (Tape.ShouldRecord(x))
            Tape.Current.Record(new ReshapeEntry(y, x));
        return y;
    }

    private sealed class ReshapeEntry(Tensor y, Tensor x) : TapeEntry(y)
    {
        public override void Backward(Tensor dY) =>
            TensorPrimitives.Add(x.EnsureGrad().Span, dY.Span, x.Grad!.Span);
    }

    private static int[] ResolveShape(Tensor x, int[] shape)
    {
        int[] resolved = (int[])shape.Clone();
        int inferred = Array.IndexOf(resolved, -1);
        if (inferred >= 0)
        {
            resolved[inferred] = 1;
            int known = Shapes.Product(resolved);
            if (known == 0 || x.Length % known != 0)
                throw new ArgumentException($"Cannot reshape {Shapes.Format(x.Shape)} to {Shapes.Format(shape)}: {x.Length} elements do not divide evenly.");
            resolved[inferred] = x.Length / known;
        }
        Shapes.Checked(resolved);
        if (Shapes.Product(resolved) != x.Length)
            throw new ArgumentException($"Cannot reshape {Shapes.Format(x.Shape)} ({x.Length} elements) to {Shapes.Format(shape)}.");
        return resolved;
    }
}
