namespace NanoNet.Kernels;

/// <summary>
/// Where a reduction over a set of axes finds its numbers: the tensor seen as contiguous
/// (outer, reduced, inner) blocks, so every reduction kernel has one simple shape to handle.
/// </summary>
/// <remarks>
/// <para>Shape legend: x has the caller's shape; y (the output) has <see cref="OutputShape"/>. Seen by the
/// kernels, x is outer × reduced × inner and y is outer × inner, both row-major: y[o, i] reduces
/// x[o, 0..reduced, i].</para>
/// <para>How a shape gets there: size-1 axes are dropped (reducing over them changes nothing), then
/// neighbouring axes that are both reduced or both kept are merged. One reduced run is left in the
/// common cases: the last axis ((rows, reduced, 1): a row reduction), the first axis ((1, reduced, inner):
/// rows added into an accumulator), a middle axis, or any neighbouring run. Scattered axes, e.g. axes 0
/// and 2 of a rank-3 tensor, leave several reduced runs; then x is first gathered into (kept..., reduced...)
/// order (<see cref="IsPermuted"/>) and reduced as rows, with <see cref="GatherDimensions"/> and
/// <see cref="GatherStrides"/> describing that walk.</para>
/// <para>A struct, so an inference-time reduction (a global pooling in single-sample Predict) allocates nothing.</para>
/// </remarks>
public readonly struct ReduceLayout
{
    private ReduceLayout(int[] outputShape, int outer, int reduced, int inner, int[]? gatherDimensions, int[]? gatherStrides)
    {
        OutputShape = outputShape;
        (Outer, Reduced, Inner) = (outer, reduced, inner);
        (GatherDimensions, GatherStrides) = (gatherDimensions, gatherStrides);
    }

    /// <summary>The output's shape: reduced axes removed, or kept with size 1 when keepDims is set.</summary>
    public int[] OutputShape { get; }

    /// <summary>Product of the kept axes before the reduced run (of all kept axes when <see cref="IsPermuted"/>).</summary>
    public int Outer { get; }

    /// <summary>Number of elements each output reduces (the product of the reduced axes' sizes).</summary>
    public int Reduced { get; }

    /// <summary>Product of the kept axes after the reduced run (1 when <see cref="IsPermuted"/>).</summary>
    public int Inner { get; }

    /// <summary>True when the reduced axes are not one neighbouring run, so x must be gathered first.</summary>
    public bool IsPermuted => GatherDimensions is not null;

    /// <summary>The merged axes in gather order (kept runs, then reduced runs); null unless <see cref="IsPermuted"/>.</summary>
    public int[]? GatherDimensions { get; }

    /// <summary>The stride in x of each of <see cref="GatherDimensions"/>; null unless <see cref="IsPermuted"/>.</summary>
    public int[]? GatherStrides { get; }

    /// <summary>Number of input elements (outer × reduced × inner).</summary>
    public long InputLength => (long)Outer * Reduced * Inner;

    /// <summary>
    /// Validates <paramref name="axes"/> against <paramref name="shape"/> (negative axes count from the end)
    /// and finds the block layout. Duplicate or out-of-range axes throw an <see cref="ArgumentException"/>
    /// naming <paramref name="op"/>, the axis and the shape.
    /// </summary>
    public static ReduceLayout Create(string op, ReadOnlySpan<int> shape, ReadOnlySpan<int> axes, bool keepDims)
    {
        int rank = shape.Length;
        Span<bool> isReduced = stackalloc bool[rank];
        foreach (int axis in axes)
        {
            int normalized = axis < 0 ? axis + rank : axis;
            if ((uint)normalized >= (uint)rank)
                throw new ArgumentException($"{op}: axis {axis} is out of range for shape {Shapes.Format(shape)} (rank {rank}).");
            if (isReduced[normalized])
                throw new ArgumentException($"{op}: axis {axis} is given twice (as axis {normalized}) for shape {Shapes.Format(shape)}.");
            isReduced[normalized] = true;
        }

        Span<int> kept = stackalloc int[rank];
        int outputRank = 0;
        for (int d = 0; d < rank; d++)
            if (!isReduced[d])
                kept[outputRank++] = shape[d];
            else if (keepDims)
                kept[outputRank++] = 1;
        int[] outputShape = Shapes.Interned(kept[..outputRank]); // shared, never written: no array per call

        // Merge into runs: size-1 axes vanish, neighbours with the same role join.
        Span<int> runSize = stackalloc int[rank];
        Span<bool> runReduced = stackalloc bool[rank];
        int runs = 0;
        for (int d = 0; d < rank; d++)
        {
            if (shape[d] == 1)
                continue;
            if (runs > 0 && runReduced[runs - 1] == isReduced[d])
                runSize[runs - 1] *= shape[d];
            else
            {
                runSize[runs] = shape[d];
                runReduced[runs] = isReduced[d];
                runs++;
            }
        }

        int reducedRuns = 0;
        for (int r = 0; r < runs; r++)
            if (runReduced[r])
                reducedRuns++;

        if (reducedRuns <= 1)
        {
            int outer = 1, reduced = 1, inner = 1;
            bool seenReduced = false;
            for (int r = 0; r < runs; r++)
            {
                if (runReduced[r]) { reduced = runSize[r]; seenReduced = true; }
                else if (seenReduced) inner *= runSize[r];
                else outer *= runSize[r];
            }
            return new ReduceLayout(outputShape, outer, reduced, inner, null, null);
        }

        // Several reduced runs: gather kept runs first, then reduced runs, each in its original order.
        Span<int> stride = stackalloc int[runs];
        int step = 1;
        for (int r = runs - 1; r >= 0; r--)
        {
            stride[r] = step;
            step *= runSize[r];
        }
        int[] dimensions = new int[runs], strides = new int[runs];
        int next = 0, keptProduct = 1, reducedProduct = 1;
        for (int pass = 0; pass < 2; pass++)
            for (int r = 0; r < runs; r++)
                if (runReduced[r] == (pass == 1))
                {
                    dimensions[next] = runSize[r];
                    strides[next++] = stride[r];
                    if (pass == 0) keptProduct *= runSize[r]; else reducedProduct *= runSize[r];
                }
        return new ReduceLayout(outputShape, keptProduct, reducedProduct, 1, dimensions, strides);
    }
}
