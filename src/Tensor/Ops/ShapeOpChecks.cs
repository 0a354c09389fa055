namespace NanoNet;

/// <summary>Argument checks shared by the shape ops, so every one words its errors the same way.</summary>
internal static class ShapeOpChecks
{
    /// <summary>
    /// <paramref name="axis"/> of a tensor of shape <paramref name="shape"/> as a non-negative axis
    /// (negative axes count from the end: −1 is the last).
    /// </summary>
    /// <exception cref="ArgumentException">The axis is outside [−rank, rank); the message names the op, the axis and the shape.</exception>
    public static int Axis(string op, int axis, ReadOnlySpan<int> shape)
    {
        int rank = shape.Length;
        if (axis < -rank || axis >= rank)
            throw new ArgumentException(rank == 0
                ? $"{op}: axis {axis} does not exist in a scalar (shape ())."
                : $"{op}: axis {axis} is out of range for shape {Shapes.Format(shape)} (rank {rank}: valid axes are {-rank}..{rank - 1}).");
        return axis < 0 ? axis + rank : axis;
    }

    /// <summary>Throws when <paramref name="x"/> is null, naming the op.</summary>
    public static Tensor NotNull(string op, Tensor? x, string what = "x") =>
        x ?? throw new ArgumentNullException(what, $"{op}: {what} is null.");

    /// <summary><paramref name="shape"/> with axis <paramref name="axis"/> set to <paramref name="size"/> (a new array).</summary>
    public static int[] WithDim(ReadOnlySpan<int> shape, int axis, int size)
    {
        int[] result = new int[shape.Length];
        WithDim(shape, axis, size, result);
        return result;
    }

    /// <summary><paramref name="shape"/> with axis <paramref name="axis"/> set to <paramref name="size"/>, written into <paramref name="into"/> (e.g. stack memory).</summary>
    public static Span<int> WithDim(ReadOnlySpan<int> shape, int axis, int size, Span<int> into)
    {
        shape.CopyTo(into);
        into[axis] = size;
        return into[..shape.Length];
    }

    /// <summary>A window start at the origin: <paramref name="rank"/> zeros (shared, no allocation up to rank 8).</summary>
    public static ReadOnlySpan<int> Origin(int rank) => rank <= s_origin.Length ? s_origin.AsSpan(0, rank) : new int[rank];

    private static readonly int[] s_origin = new int[8];
}
