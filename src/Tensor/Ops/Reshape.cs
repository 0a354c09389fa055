using NanoNet.Autograd;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// A view of <paramref name="x"/> with a new shape (no copy); one dimension may be -1 (inferred).
    /// </summary>
    /// <remarks>
    /// Nothing is recorded on the tape: the view's gradient is itself a view of x's gradient (same
    /// row-major layout), so whatever flows into the view's gradient lands in x's directly, with no
    /// backward pass and no copy.
    /// </remarks>
    /// <remarks>
    /// The shape is taken as a span (<c>Ops.Reshape(y, [n, t, h, s])</c> or <c>Ops.Reshape(y, n, t, h, s)</c> allocates
    /// nothing) and the resolved shape is interned. While a training step runs (a <see cref="Memory.StepMemory"/> is
    /// active) the view is step memory like every op's output, also when it views an ordinary tensor such as a weight:
    /// valid until the step ends, and a reshape in a steady step allocates nothing.
    /// </remarks>
    public static Tensor Reshape(Tensor x, params ReadOnlySpan<int> shape) => x.ViewWithGradient(ResolveShape(x, shape));

    /// <summary>A rank-2 view (rows, columns) of <paramref name="x"/>; see <see cref="Reshape(Tensor, ReadOnlySpan{int})"/>.</summary>
    public static Tensor Reshape(Tensor x, int rows, int columns)
    {
        if (rows == -1 && columns > 0 && x.Length % columns == 0)
            rows = x.Length / columns;
        else if (columns == -1 && rows > 0 && x.Length % rows == 0)
            columns = x.Length / rows;
        if ((long)rows * columns != x.Length || rows < 0 || columns < 0)
            throw new ArgumentException($"Cannot reshape {Shapes.Format(x.Shape)} ({x.Length} elements) to ({rows}, {columns}).");
        return x.ViewWithGradient(Shapes.Interned([rows, columns]));
    }

    private static int[] ResolveShape(Tensor x, ReadOnlySpan<int> shape)
    {
        Span<int> resolved = shape.Length <= 8 ? stackalloc int[shape.Length] : new int[shape.Length];
        shape.CopyTo(resolved);
        int inferred = resolved.IndexOf(-1);
        if (inferred >= 0)
        {
            resolved[inferred] = 1;
            int known = Shapes.Product(resolved);
            if (known == 0 || x.Length % known != 0)
                throw new ArgumentException($"Cannot reshape {Shapes.Format(x.Shape)} to {Shapes.Format(shape)}: {x.Length} elements do not divide evenly.");
            resolved[inferred] = x.Length / known;
        }
        foreach (int d in resolved)
            if (d < 0)
                throw new ArgumentException($"Shape {Shapes.Format(resolved)} has a negative dimension.");
        if (Shapes.Product(resolved) != x.Length)
            throw new ArgumentException($"Cannot reshape {Shapes.Format(x.Shape)} ({x.Length} elements) to {Shapes.Format(shape)}.");
        return Shapes.Interned(resolved);
    }
}
