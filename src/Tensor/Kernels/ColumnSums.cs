using System.Numerics.Tensors;

namespace NanoNet.Kernels;

/// <summary>
/// sums += Σ rows of a rows×columns matrix, the rows added in order, on the worker pool: each worker takes a
/// band of columns (whole 64-byte lines), so every column's sum runs over the rows in the same order as a
/// single thread's row-by-row <see cref="TensorPrimitives.Add(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/>
/// loop and the result is bitwise that loop's at any thread count. Used for the recurrent layers' bias
/// gradient (the rows of the gate gradient, a chunk of backward steps at a time: 512 × 512 for the IMDB seed model), which was serial.
/// </summary>
internal static unsafe class ColumnSums
{
    /// <summary>Below this many elements one thread does it (a region costs microseconds).</summary>
    private const int ParallelThreshold = 1 << 16;

    /// <summary>sums[j] += matrix[0, j] + matrix[1, j] + … in row order (as a row-by-row loop adds them).</summary>
    public static void AddRows(ReadOnlySpan<float> matrix, int rows, int columns, Span<float> sums)
    {
        if (matrix.Length < (long)rows * columns || sums.Length != columns)
            throw new ArgumentException("ColumnSums: the matrix or the sums have the wrong length.");
        int bands = (long)rows * columns < ParallelThreshold ? 1 : Math.Max(1, columns / 64);
        fixed (float* pm = matrix, ps = sums)
        {
            if (bands == 1)
            {
                AddBand(pm, rows, columns, ps, 0, columns);
                return;
            }
            Job job = t_job ??= new Job();
            job.Matrix = pm;
            job.Sums = ps;
            (job.Rows, job.Columns) = (rows, columns);
            Parallelism.Run(job, bands);
        }
    }

    [ThreadStatic] private static Job? t_job;

    internal static void AddBand(float* matrix, int rows, int columns, float* sums, int from, int to)
    {
        var sum = new Span<float>(sums + from, to - from);
        for (int row = 0; row < rows; row++)
            TensorPrimitives.Add(sum, new ReadOnlySpan<float>(matrix + (long)row * columns + from, to - from), sum);
    }

    private sealed class Job : ParallelJob
    {
        public float* Matrix, Sums;
        public int Rows, Columns;

        public override void RunWorker(int worker, int workerCount)
        {
            // Bands of whole 16-float lines, as equal as they come.
            int lines = (Columns + 15) / 16;
            int from = Math.Min(Columns, (int)((long)lines * worker / workerCount) * 16);
            int to = Math.Min(Columns, (int)((long)lines * (worker + 1) / workerCount) * 16);
            if (from < to)
                AddBand(Matrix, Rows, Columns, Sums, from, to);
        }
    }
}
