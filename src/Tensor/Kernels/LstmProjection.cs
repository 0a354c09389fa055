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
    /// <remarks>With <paramref name="w"/> and <paramref name="r"/> given, the panels are packed here first
    /// (<see cref="LstmFusedStep.PackPanels"/>), the workers taking them one by one, then each worker waits for every
    /// panel before it projects. Packed by one thread before this region, they cost imdb-train's step 75 µs at 2 threads
    /// with the other core idle, W and R partly read from the core whose optimizer update had just written them
    /// (benchmarks/README.md, twenty-ninth sitting).</remarks>
    public static void Run(float* packed, int d, int u, float* table, int* ids, int count, float* projected,
        float* w = null, float* r = null)
    {
        Job job = t_cached ??= new Job();
        job.Packed = packed; job.Table = table; job.Projected = projected; job.Ids = ids;
        (job.Count, job.D, job.U) = (count, d, u);
        job.W = w;
        job.R = r;
        (job.NextPanel, job.PanelsPacked) = (0, 0);
        int tiles = (count + LstmFusedStep.Rows - 1) / LstmFusedStep.Rows;
        int workers = Math.Max(1, Math.Min(Parallelism.CurrentMaxThreads, tiles));
        // Runs of a sixteenth of each worker's even share (16 runs a worker, 6 tiles each at the IMDB seed shape): a taken run
        // costs one atomic add on a line both cores write, and the last run to finish is short.
        job.RunTiles = Math.Max(1, tiles / (16 * workers));
        job.NextTile = 0;
        Parallelism.Run(job, workers);
        job.Ids = null;
        job.W = job.R = null;
    }

    [ThreadStatic] private static Job? t_cached;

    private sealed class Job : ParallelJob
    {
        public float* Packed, Table, Projected, W, R;
        public int* Ids;
        public int Count, D, U, RunTiles;
        public int NextTile; // the first tile no worker has taken yet
        public int NextPanel, PanelsPacked; // with W and R: the first panel no worker has taken, and how many are packed

        public override void RunWorker(int worker, int workerCount)
        {
            if (W != null && !PackPanels())
                return;
            int tiles = (Count + LstmFusedStep.Rows - 1) / LstmFusedStep.Rows, tile;
            while ((tile = Interlocked.Add(ref NextTile, RunTiles) - RunTiles) < tiles)
            {
                int first = tile * LstmFusedStep.Rows, end = Math.Min(Count, (tile + RunTiles) * LstmFusedStep.Rows);
                LstmFusedStep.Project(Packed, D, U, Ids == null ? Table + (long)first * D : Table, Ids == null ? null : Ids + first,
                    end - first, Projected + (long)first * LstmFusedStep.Panels(U) * LstmFusedStep.Width);
            }
        }

        /// <summary>Takes panels to pack one at a time until none is left, then waits until every taken panel is packed (a
        /// worker that starts late finds them all taken and only waits). False when the region failed meanwhile.</summary>
        private bool PackPanels()
        {
            int panels = LstmFusedStep.Panels(U), panel;
            while ((panel = Interlocked.Increment(ref NextPanel) - 1) < panels)
            {
                LstmFusedStep.PackPanels(W, R, D, U, Packed, panel, panel + 1);
                Interlocked.Increment(ref PanelsPacked); // after the panel's stores: whoever reads the count sees them
            }
            var spin = new SpinWait();
            while (Volatile.Read(ref PanelsPacked) < panels)
            {
                if (WorkerPool.RegionFailed) // the worker packing the last panel threw; the pool reports it
                    return false;
                spin.SpinOnce(sleep1Threshold: -1);
            }
            return true;
        }
    }
}
