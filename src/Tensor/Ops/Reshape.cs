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
    public static Tensor Reshape(Tensor x, params int[] shape) => x.ViewWithGradient(ResolveShape(x, shape));

    /// <summary>A rank-2 view (rows, columns) of <paramref name="x"/>; see <see cref="Reshape(Tensor, int[])"/>.</summary>
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
