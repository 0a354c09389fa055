namespace NanoNet;

/// <summary>Helpers for shapes: products, formatting for error messages, checks.</summary>
public static class Shapes
{
    /// <summary>The shape of a scalar (rank 0), shared.</summary>
    internal static readonly int[] ScalarShape = [];

    /// <summary>Product of the dimensions (1 for a scalar).</summary>
    public static int Product(ReadOnlySpan<int> shape)
    {
        long product = 1;
        bool tooLarge = false;
        foreach (int d in shape)
        {
            if (d == 0)
                return 0;
            if (!tooLarge)
            {
                product *= d; // |product| ≤ Array.MaxLength before, |d| < 2^31: no wrap in a long
                tooLarge = Math.Abs(product) > Array.MaxLength;
            }
        }
        if (tooLarge)
            throw new ArgumentException($"Shape {Format(shape)} has more than {Array.MaxLength} elements, more than an array can hold.");
        return (int)product;
    }

    /// <summary>Formats a shape as <c>(64, 28, 28)</c>.</summary>
    public static string Format(ReadOnlySpan<int> shape) => "(" + string.Join(", ", shape.ToArray()) + ")";

    /// <summary>Formats a per-sample shape with a leading batch dimension, Keras style: <c>(None, 784)</c>.</summary>
    public static string FormatBatched(ReadOnlySpan<int> sampleShape) =>
        "(None" + string.Concat(sampleShape.ToArray().Select(d => ", " + d)) + ")";

    /// <summary>Whether two shapes are equal.</summary>
    public static bool Equal(ReadOnlySpan<int> a, ReadOnlySpan<int> b) => a.SequenceEqual(b);

    [ThreadStatic] private static Dictionary<(int Rank, int D0, int D1, int D2, int D3), int[]>? t_interned;

    /// <summary>
    /// A shared array equal to <paramref name="shape"/>, so ops do not allocate one per call (shape arrays
    /// held by tensors are never mutated, so sharing them is safe). Ranks above 4 get a fresh copy.
    /// </summary>
    internal static int[] Interned(ReadOnlySpan<int> shape)
    {
        if (shape.Length == 0)
            return ScalarShape;
        if (shape.Length > 4)
            return shape.ToArray();
        var key = (shape.Length, shape[0], shape.Length > 1 ? shape[1] : 0, shape.Length > 2 ? shape[2] : 0, shape.Length > 3 ? shape[3] : 0);
        var table = t_interned ??= [];
        if (!table.TryGetValue(key, out int[]? interned))
        {
            interned = shape.ToArray();
            if (table.Count < 4096) // a program cycling through endless shapes just allocates
                table[key] = interned;
        }
        return interned;
    }

    /// <summary>Returns <paramref name="shape"/> after checking it is not null and has no negative dimension.</summary>
    public static int[] Checked(int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        foreach (int d in shape)
            if (d < 0)
                throw new ArgumentException($"Shape {Format(shape)} has a negative dimension.");
        return shape;
    }
}
