namespace NanoNet.Kernels;

/// <summary>
/// x·W for the distinct embedding rows of a batch (<see cref="LstmFusedStep.Project"/>), 8 rows (one register tile) at a
/// time, the tiles split evenly over the workers: the projected table both LSTM passes on embedded ids start from
/// (<see cref="LstmInference.ForwardOnEmbedding"/> at inference, <see cref="LstmKernels.ForwardOnEmbedding"/> in training).
/// </summary>
/// <remarks>
/// Shape legend: K = rows to project, D = the embedding width, U = units; the packed panels are
/// <see cref="LstmFusedStep.Pack"/>'s, the output K rows of ⌈U/8⌉·32 floats in the fused step's panel order. Each row's
/// chains are the same whichever worker computes them, so the split cannot change a bit.
/// </remarks>
internal static unsafe class LstmProjection
{
    /// <summary>
    /// <see cref="LstmFusedStep.Project"/> of <paramref name="count"/> rows: table rows ids[j], or the first
    /// <paramref name="count"/> rows of <paramref name="table"/> when <paramref name="ids"/> is null.
    /// </summary>
    public static void Run(float* packed, int d, int u, float* table, int* ids, int count, float* projected)
    {
        Job job = t_cached ??= new Job();
        job.Packed = packed; job.Table = table; job.Projected = projected; job.Ids = ids;
        (job.Count, job.D, job.U) = (count, d, u);
        int tiles = (count + LstmFusedStep.Rows - 1) / LstmFusedStep.Rows;
        Parallelism.Run(job, Math.Max(1, Math.Min(Parallelism.CurrentMaxThreads, tiles)));
        job.Ids = null;
    }

    [ThreadStatic] private static Job? t_cached;

    private sealed class Job : ParallelJob
    {
        public float* Packed, Table, Projected;
        public int* Ids;
        public int Count, D, U;

        public override void RunWorker(int worker, int workerCount)
        {
            int tiles = (Count + LstmFusedStep.Rows - 1) / LstmFusedStep.Rows;
            int first = (int)((long)tiles * worker / workerCount) * LstmFusedStep.Rows;
            int end = Math.Min(Count, (int)((long)tiles * (worker + 1) / workerCount) * LstmFusedStep.Rows);
            if (first < end)
                LstmFusedStep.Project(Packed, D, U, Ids == null ? Table + (long)first * D : Table, Ids == null ? null : Ids + first,
                    end - first, Projected + (long)first * LstmFusedStep.Panels(U) * LstmFusedStep.Width);
        }
    }
}
