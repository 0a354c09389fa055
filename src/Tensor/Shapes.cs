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
        foreach (int d in shape)
            product *= d;
        if (product > Array.MaxLength)
            throw new ArgumentException($"Shape {Format(shape)} has {product} elements, more than an array can hold.");
        return (int)product;
    }

    /// <summary>Formats a shape as <c>(64, 28, 28)</c>.</summary>
    public static string Format(ReadOnlySpan<int> shape) => "(" + string.Join(", ", shape.ToArray()) + ")";

    /// <summary>Formats a per-sample shape with a leading batch dimension, Keras style: <c>(None, 784)</c>.</summary>
    public static string FormatBatched(ReadOnlySpan<int> sampleShape) =>
        "(None" + string.Concat(sampleShape.ToArray().Select(d => ", " + d)) + ")";

    /// <summary>Whether two shapes are equal.</summary>
    public static bool Equal(ReadOnlySpan<int> a, ReadOnlySpan<int> b) => a.SequenceEqual(b);

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
