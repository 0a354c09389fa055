using System.Numerics.Tensors;

namespace NanoNet.Kernels;

/// <summary>
/// sums += Σ rows of a rows×columns matrix, the rows added in order, on the worker pool: each worker takes a
/// band of columns (whole 64-byte lines), so every column's sum runs over the rows in the same order as a
/// single thread's row-by-row <see cref="TensorPrimitives.Add(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/>
/// loop and the result is bitwise that loop's at any thread count. Used for the recurrent layers' bias
/// gradient (the rows of the gate gradient, a chunk of backward steps at a time: 512 × 512 for the IMDB seed model), which was serial,
/// and for a convolution's per-chunk weight-gradient partials (<see cref="Conv2DKernels"/>). Columns go in blocks of 1,024, so
/// a block of sums stays in L1 while all the rows are added into it.
/// </summary>
internal static unsafe class ColumnSums
{
    /// <summary>Below this many elements one thread does it (a region costs microseconds).</summary>
    private const int ParallelThreshold = 1 << 16;

    /// <summary>sums[j] += matrix[0, j] + matrix[1, j] + … in row order (as a row-by-row loop adds them).</summary>
    public static void AddRows(ReadOnlySpan<float> matrix, int rows, int columns, Span<float> sums) =>
        AddRows(matrix, rows, columns, columns, sums);

    /// <summary>
    /// The same over the first <paramref name="columns"/> values of rows <paramref name="rowStride"/> floats apart (a
    /// convolution's per-chunk [dW; db] partials: dW is the first P·F values of each chunk's row).
    /// </summary>
    public static void AddRows(ReadOnlySpan<float> matrix, int rows, int columns, int rowStride, Span<float> sums)
    {
        if (rowStride < columns || (rows > 0 && matrix.Length < (long)(rows - 1) * rowStride + columns) || sums.Length != columns)
            throw new ArgumentException("ColumnSums: the matrix or the sums have the wrong length.");
        int bands = (long)rows * columns < ParallelThreshold ? 1 : Math.Max(1, columns / 64);
        fixed (float* pm = matrix, ps = sums)
        {
            if (bands == 1)
            {
                AddBand(pm, rows, rowStride, ps, 0, columns);
                return;
            }
            Job job = t_job ??= new Job();
            job.Matrix = pm;
            job.Sums = ps;
            (job.Rows, job.Columns, job.RowStride) = (rows, columns, rowStride);
            Parallelism.Run(job, bands);
        }
    }

    [ThreadStatic] private static Job? t_job;

    /// <summary>Columns per block: a block's sums (4 KB) stay in L1 while every row adds into them.</summary>
    private const int BlockColumns = 1024;

    internal static void AddBand(float* matrix, int rows, int rowStride, float* sums, int from, int to)
    {
        for (int start = from; start < to; start += BlockColumns)
        {
            int length = Math.Min(BlockColumns, to - start);
            var sum = new Span<float>(sums + start, length);
            for (int row = 0; row < rows; row++)
                TensorPrimitives.Add(sum, new ReadOnlySpan<float>(matrix + (long)row * rowStride + start, length), sum);
        }
    }

    private sealed class Job : ParallelJob
    {
        public float* Matrix, Sums;
        public int Rows, Columns, RowStride;

        public override void RunWorker(int worker, int workerCount)
        {
            // Bands of whole 16-float lines, as equal as they come.
            int lines = (Columns + 15) / 16;
            int from = Math.Min(Columns, (int)((long)lines * worker / workerCount) * 16);
            int to = Math.Min(Columns, (int)((long)lines * (worker + 1) / workerCount) * 16);
            if (from < to)
                AddBand(Matrix, Rows, RowStride, Sums, from, to);
        }
    }
}
