namespace NanoNet.Kernels;

/// <summary>The work of one tile: output row <c>outer</c>, columns innerStart..innerStart+innerCount.</summary>
internal interface ITileBody
{
    /// <summary>Computes (or back-propagates) outputs [outer, innerStart .. innerStart + innerCount).</summary>
    void Run(int outer, int innerStart, int innerCount);
}

/// <summary>
/// Splits an (outer × inner) grid of independent outputs into tiles and hands contiguous ranges of tiles to
/// the workers. Used by the reduction and axis-softmax kernels.
/// </summary>
/// <remarks>
/// Shape legend: the grid is outer × inner; a tile is one outer index × up to <see cref="Chunk"/> inner
/// columns (a whole row when inner is 1). Each output is computed by exactly one tile, its reduction running
/// over the reduced axis in a fixed order, so the results are the same bits at any thread count: threads
/// only ever split independent outputs, never one sum.
/// </remarks>
internal static class ReduceTiles
{
    /// <summary>Columns per tile: 1 KB rows of scratch, which stay in L1 with the accumulator.</summary>
    public const int Chunk = 256;

    /// <summary>Below this many input elements one thread is faster than waking the others.</summary>
    private const long ParallelWork = 1 << 15;

    /// <summary>Runs <paramref name="body"/> over every tile of the outer × inner grid; <paramref name="work"/> is the elements touched.</summary>
    public static void Run<TBody>(TBody body, int outer, int inner, long work) where TBody : struct, ITileBody
    {
        int chunks = (inner + Chunk - 1) / Chunk;
        long tiles = (long)outer * chunks;
        int workers = work < ParallelWork ? 1 : (int)Math.Min(Parallelism.CurrentMaxThreads, tiles);
        if (workers <= 1)
        {
            RunTiles(body, 0, tiles, inner, chunks);
            return;
        }
        TileJob<TBody> job = TileJob<TBody>.Rent(body, tiles, inner, chunks);
        Parallelism.Run(job, workers);
        job.Release();
    }

    private static void RunTiles<TBody>(TBody body, long first, long end, int inner, int chunks) where TBody : struct, ITileBody
    {
        for (long tile = first; tile < end; tile++)
        {
            int outer = (int)(tile / chunks), innerStart = (int)(tile % chunks) * Chunk;
            body.Run(outer, innerStart, Math.Min(Chunk, inner - innerStart));
        }
    }

    /// <summary>Worker w runs the w-th contiguous range of tiles.</summary>
    private sealed class TileJob<TBody> : ParallelJob where TBody : struct, ITileBody
    {
        [ThreadStatic] private static TileJob<TBody>? t_free;
        private TBody _body;
        private long _tiles;
        private int _inner, _chunks;

        public static TileJob<TBody> Rent(TBody body, long tiles, int inner, int chunks)
        {
            TileJob<TBody> job = t_free ?? new TileJob<TBody>();
            t_free = null;
            (job._body, job._tiles, job._inner, job._chunks) = (body, tiles, inner, chunks);
            return job;
        }

        public void Release()
        {
            _body = default; // drops the pointers
            t_free = this;
        }

        public override void RunWorker(int worker, int workerCount) =>
            RunTiles(_body, _tiles * worker / workerCount, _tiles * (worker + 1) / workerCount, _inner, _chunks);
    }
}
