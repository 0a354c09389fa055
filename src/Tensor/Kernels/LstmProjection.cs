namespace NanoNet.Kernels;

/// <summary>
/// x·W for the distinct embedding rows of a batch (<see cref="LstmFusedStep.Project"/>), 8 rows (one register tile) at a
/// time, the workers taking runs of tiles from a shared counter as they come free (a slower core takes fewer): the
/// projected table both LSTM passes on embedded ids start from
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
        int workers = Math.Max(1, Math.Min(Parallelism.CurrentMaxThreads, tiles));
        // Runs of a sixteenth of each worker's even share (16 runs a worker, 6 tiles each at the IMDB seed shape): a taken run
        // costs one atomic add on a line both cores write, and the last run to finish is short.
        job.RunTiles = Math.Max(1, tiles / (16 * workers));
        job.NextTile = 0;
        Parallelism.Run(job, workers);
        job.Ids = null;
    }

    [ThreadStatic] private static Job? t_cached;

    private sealed class Job : ParallelJob
    {
        public float* Packed, Table, Projected;
        public int* Ids;
        public int Count, D, U, RunTiles;
        public int NextTile; // the first tile no worker has taken yet

        public override void RunWorker(int worker, int workerCount)
        {
            int tiles = (Count + LstmFusedStep.Rows - 1) / LstmFusedStep.Rows, tile;
            while ((tile = Interlocked.Add(ref NextTile, RunTiles) - RunTiles) < tiles)
            {
                int first = tile * LstmFusedStep.Rows, end = Math.Min(Count, (tile + RunTiles) * LstmFusedStep.Rows);
                LstmFusedStep.Project(Packed, D, U, Ids == null ? Table + (long)first * D : Table, Ids == null ? null : Ids + first,
                    end - first, Projected + (long)first * LstmFusedStep.Panels(U) * LstmFusedStep.Width);
            }
        }
    }
}
