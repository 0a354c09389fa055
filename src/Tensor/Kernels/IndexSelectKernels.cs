namespace NanoNet.Kernels;

/// <summary>
/// Selecting positions along one axis (gather) and its gradient (scatter-add) on spans.
/// </summary>
/// <remarks>
/// <para>Shape legend: O = product of the axes before the selected one (outer), A = the selected axis'
/// size, I = product of the axes after it (inner), K = number of indices. x and dX are O×A×I,
/// y and dY are O×K×I, and y[o, k, :] = x[o, indices[k], :].</para>
/// <para>Every (o, k) pair moves one contiguous run of I floats. The backward pass adds run k into
/// dX[o, indices[k], :] for k in increasing order, so an index that repeats sums its gradients in a
/// fixed order. Workers split the outer rows o, or, when there are fewer rows than workers, the inner
/// columns: either way each element of dX receives its additions in the same order at any thread count.</para>
/// </remarks>
public static unsafe class IndexSelectKernels
{
    private const int ParallelThreshold = 1 << 16;  // elements below which one thread is faster

    /// <summary>y[o, k, :] = x[o, indices[k], :] (see the shape legend).</summary>
    /// <exception cref="ArgumentException">An index is outside [0, A), or a span does not match the sizes.</exception>
    public static void Gather(ReadOnlySpan<float> x, ReadOnlySpan<int> indices, Span<float> y, int outer, int axisSize, int inner)
    {
        Check(x.Length, indices, y.Length, outer, axisSize, inner);
        fixed (float* px = x, py = y)
        fixed (int* pi = indices)
            Run(scatter: false, px, pi, py, indices.Length, outer, axisSize, inner);
    }

    /// <summary>dX[o, indices[k], :] += dY[o, k, :] for k in increasing order (see the shape legend).</summary>
    /// <exception cref="ArgumentException">An index is outside [0, A), or a span does not match the sizes.</exception>
    public static void ScatterAdd(ReadOnlySpan<float> dY, ReadOnlySpan<int> indices, Span<float> dX, int outer, int axisSize, int inner)
    {
        Check(dX.Length, indices, dY.Length, outer, axisSize, inner);
        fixed (float* pdx = dX, pdy = dY)
        fixed (int* pi = indices)
            Run(scatter: true, pdx, pi, pdy, indices.Length, outer, axisSize, inner);
    }

    private static void Check(int xLength, ReadOnlySpan<int> indices, int yLength, int outer, int axisSize, int inner)
    {
        if (outer < 0 || axisSize < 0 || inner < 0 || (long)outer * axisSize * inner != xLength || (long)outer * indices.Length * inner != yLength)
            throw new ArgumentException($"Index-select kernel: x of {xLength} and y of {yLength} elements do not match O={outer}, A={axisSize}, I={inner}, K={indices.Length}.");
        for (int k = 0; k < indices.Length; k++)
            if ((uint)indices[k] >= (uint)axisSize)
                throw new ArgumentException($"Index-select kernel: index {indices[k]} at position {k} is outside [0, {axisSize}).");
    }

    private static void Run(bool scatter, float* x, int* indices, float* y, int count, int outer, int axisSize, int inner)
    {
        long elements = (long)outer * count * inner;
        if (elements == 0)
            return;
        var job = t_job ??= new IndexSelectJob();
        job.X = x;
        job.Indices = indices;
        job.Y = y;
        (job.Scatter, job.Count, job.Outer, job.AxisSize, job.Inner) = (scatter, count, outer, axisSize, inner);
        int workers = elements < ParallelThreshold ? 1 : Parallelism.CurrentMaxThreads;
        Parallelism.Run(job, workers);
    }

    [ThreadStatic] private static IndexSelectJob? t_job;

    private sealed class IndexSelectJob : ParallelJob
    {
        public bool Scatter;
        public float* X, Y;
        public int* Indices;
        public int Count, Outer, AxisSize, Inner;

        public override void RunWorker(int worker, int workerCount)
        {
            // Split the outer rows when there are enough of them, otherwise the inner columns.
            int firstRow = 0, endRow = Outer, firstColumn = 0, endColumn = Inner;
            if (Outer >= workerCount)
                (firstRow, endRow) = ((int)((long)Outer * worker / workerCount), (int)((long)Outer * (worker + 1) / workerCount));
            else
                (firstColumn, endColumn) = ((int)((long)Inner * worker / workerCount), (int)((long)Inner * (worker + 1) / workerCount));
            int width = endColumn - firstColumn;
            if (width <= 0)
                return;
            for (int o = firstRow; o < endRow; o++)
            {
                float* xRow = X + (long)o * AxisSize * Inner + firstColumn;
                float* yRow = Y + (long)o * Count * Inner + firstColumn;
                for (int k = 0; k < Count; k++)
                {
                    var selected = new Span<float>(xRow + (long)Indices[k] * Inner, width);
                    var picked = new Span<float>(yRow + (long)k * Inner, width);
                    if (Scatter)
                        Accumulate.Run(picked, selected);
                    else
                        Overwrite.Run(selected, picked);
                }
            }
        }
    }
}
