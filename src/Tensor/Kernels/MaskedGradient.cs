using System.Numerics.Tensors;

namespace NanoNet.Kernels;

/// <summary>
/// Dropout's backward, dX = dY ⊙ m (stored into a new gradient) or dX += dY ⊙ m, on every worker for a long tensor.
/// </summary>
/// <remarks>
/// <para>Shape legend: dY, m and dX are flat, n elements each; m is the scaled keep-mask (0 or 1/(1 − rate)).</para>
/// <para>Each element is one product (and one sum when accumulating) with no sums across elements, and the pieces
/// are cut on 64-element boundaries, so every piece but the last is whole vectors of every width: the bits cannot
/// depend on the number of workers. On one thread the Keras model's two large dropouts (230,400 and 73,728 elements)
/// were 1.2% of its 2-thread step with the other core idle (benchmarks/README.md, twenty-ninth sitting).</para>
/// </remarks>
internal static unsafe class MaskedGradient
{
    /// <summary>Below this many elements one worker does it all (a region's wake-up costs about what a second core saves).</summary>
    internal const int ParallelThreshold = 1 << 15;

    public static void Backward(ReadOnlySpan<float> dY, ReadOnlySpan<float> mask, Span<float> dX, bool overwrite)
    {
        if (dY.Length != dX.Length || mask.Length != dX.Length)
            throw new ArgumentException($"Dropout's backward: dY has {dY.Length} elements, the mask {mask.Length}, dX {dX.Length}; they must be equal.");
        int workers = dX.Length < ParallelThreshold ? 1 : Parallelism.CurrentMaxThreads;
        if (workers <= 1)
        {
            Piece(dY, mask, dX, overwrite);
            return;
        }
        fixed (float* pdy = dY, pm = mask, pdx = dX)
        {
            var job = t_job ??= new Job();
            job.DY = pdy;
            job.Mask = pm;
            job.DX = pdx;
            (job.Length, job.Overwrite) = (dX.Length, overwrite);
            Parallelism.Run(job, workers);
            job.DY = job.Mask = job.DX = null;
        }
    }

    private static void Piece(ReadOnlySpan<float> dY, ReadOnlySpan<float> mask, Span<float> dX, bool overwrite)
    {
        if (overwrite)
            TensorPrimitives.Multiply(dY, mask, dX);
        else
            TensorPrimitives.MultiplyAdd(dY, mask, dX, dX);
    }

    [ThreadStatic] private static Job? t_job;

    /// <summary>Worker w: elements [n·w/W, n·(w+1)/W), each end rounded down to a multiple of 64 (the last worker's to n).</summary>
    private sealed class Job : ParallelJob
    {
        public float* DY, Mask, DX;
        public int Length;
        public bool Overwrite;

        public override void RunWorker(int worker, int workerCount)
        {
            int start = Boundary(worker, workerCount), end = worker == workerCount - 1 ? Length : Boundary(worker + 1, workerCount);
            if (end > start)
                Piece(new ReadOnlySpan<float>(DY + start, end - start), new ReadOnlySpan<float>(Mask + start, end - start),
                    new Span<float>(DX + start, end - start), Overwrite);
        }

        private int Boundary(int worker, int workers) => (int)((long)Length * worker / workers) & ~63;
    }
}
