namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// A view of <paramref name="x"/> without axis <paramref name="axis"/> (negative counts from the
    /// end), which must have size 1. No copy.
    /// </summary>
    /// <remarks>
    /// Shapes: (…, 1, …) → (…, …). Removing a size-1 axis does not move any element, so like
    /// <see cref="Reshape(Tensor, ReadOnlySpan{int})"/> this is a view that shares x's storage and gradient: nothing is
    /// recorded, and the gradient reaching the view lands in x's directly.
    /// </remarks>
    /// <exception cref="ArgumentException">The axis is out of range or does not have size 1.</exception>
    public static Tensor Squeeze(Tensor x, int axis)
    {
        ShapeOpChecks.NotNull("Squeeze", x);
        ReadOnlySpan<int> shape = x.Shape;
        axis = ShapeOpChecks.Axis("Squeeze", axis, shape);
        if (shape[axis] != 1)
            throw new ArgumentException($"Squeeze: axis {axis} of shape {Shapes.Format(shape)} has size {shape[axis]}; only a size-1 axis can be removed.");
        Span<int> squeezed = shape.Length - 1 <= 8 ? stackalloc int[shape.Length - 1] : new int[shape.Length - 1]; // interned below: no array per call
        for (int k = 0, j = 0; k < shape.Length; k++)
            if (k != axis)
                squeezed[j++] = shape[k];
        return x.ViewWithGradient(Shapes.Interned(squeezed));
    }

    /// <summary>A view of <paramref name="x"/> with every size-1 axis removed (a (1, 1) tensor becomes a scalar); see <see cref="Squeeze(Tensor, int)"/>.</summary>
    public static Tensor Squeeze(Tensor x)
    {
        ShapeOpChecks.NotNull("Squeeze", x);
        ReadOnlySpan<int> shape = x.Shape;
        int kept = 0;
        foreach (int d in shape)
            if (d != 1)
                kept++;
        Span<int> squeezed = kept <= 8 ? stackalloc int[kept] : new int[kept]; // interned below: no array per call
        kept = 0;
        foreach (int d in shape)
            if (d != 1)
                squeezed[kept++] = d;
        return x.ViewWithGradient(Shapes.Interned(squeezed));
    }

    /// <summary>
    /// A view of <paramref name="x"/> with a new size-1 axis inserted so that it becomes axis
    /// <paramref name="axis"/> of the result (in [−(R+1), R], negative counting from the end of the
    /// result: −1 appends). No copy; like <see cref="Squeeze(Tensor, int)"/> it shares x's gradient.
    /// </summary>
    /// <remarks>Shapes: (S₀, …, S_{R−1}) → (S₀, …, 1, …, S_{R−1}) with the 1 at position axis.</remarks>
    /// <exception cref="ArgumentException">The axis is outside [−(R+1), R].</exception>
    public static Tensor Unsqueeze(Tensor x, int axis)
    {
        ShapeOpChecks.NotNull("Unsqueeze", x);
        ReadOnlySpan<int> shape = x.Shape;
        int rank = shape.Length + 1;
        if (axis < -rank || axis >= rank)
            throw new ArgumentException($"Unsqueeze: axis {axis} is out of range for shape {Shapes.Format(shape)}: the result has rank {rank}, so valid axes are {-rank}..{rank - 1}.");
        if (axis < 0)
            axis += rank;
        Span<int> unsqueezed = rank <= 8 ? stackalloc int[rank] : new int[rank]; // interned below: no array per call
        for (int k = 0, j = 0; k < rank; k++)
            unsqueezed[k] = k == axis ? 1 : shape[j++];
        return x.ViewWithGradient(Shapes.Interned(unsqueezed));
    }
}
