namespace NanoNet.Kernels;

/// <summary>
/// The forward pass on several workers, balanced while it runs. The batch rows are cut into chains (at least two per
/// worker, whole row tiles each); a chain's steps must run in order, different chains never wait for each other. A
/// worker takes a free chain, runs a run of its steps, gives it back and takes the free unfinished chain furthest behind
/// (one of its own first). A core that runs slower (a busy host under a VM, a little core beside a big one, an
/// interrupt storm) then simply does fewer steps, instead of the others waiting at the end for its fixed half.
/// </summary>
/// <remarks>
/// <para>Shape legend: N = batch rows, T = steps, W = workers, tile = the micro-kernel's row tile (8 with AVX-512, the
/// fused step's <see cref="LstmFusedStep.Rows"/> too: chains run only where that step does); chains of
/// tile·max(1, ⌊⌈N/tile⌉/(2W)⌋) rows (<see cref="ChainRows"/>), chain c is rows [c·rows, min(N, (c+1)·rows)). A run takes a quarter of the chain's remaining steps, at least
/// <see cref="MinimumRunSteps"/> (guided self-scheduling: few hand-overs early, fine grain at the end). Worker w owns
/// chains [C·w/W, C·(w+1)/W) and prefers them, so on evenly fast cores no chain changes cores until the end.</para>
/// <para>Why it is safe: a chain is taken by a compare-and-swap on its held flag and given back by a release store after
/// its steps' writes, so the next worker to take it sees the state its last step left; a row's arithmetic does not
/// depend on the worker running it, so the results are bitwise the same at any thread count. A worker that finds no
/// free chain while some are unfinished waits for one (the end of the pass); a worker that finishes a run while another
/// waits hands that chain over instead of taking it back, and stops if no other chain is free (the idle worker is then
/// the one that came free first). A worker stops only when every chain is done, or after handing its chain to a
/// worker counted as waiting (that worker, or another still running, takes it), or when the region failed.</para>
/// <para>What a hand-over costs: the chain's h and c rows (a few KB) move to the other core, and the chain's flags live
/// on one cache line both cores write (a round trip between the two cores of the twenty-third sitting's VM, 0.4–0.5 µs,
/// a few dozen times a pass).</para>
/// </remarks>
internal abstract partial class RecurrentStepJob
{
    /// <summary>The fewest steps a worker runs of a chain before it looks for one further behind.</summary>
    internal const int MinimumRunSteps = 4;

    // Per chain: the steps done (written only by the chain's holder), and 1 while a worker holds it.
    private int[] _chainStepsDone = [], _chainHeld = [];
    private int _chainRows, _chainCount;
    // Workers that found no free chain while some were unfinished, waiting for one to come free.
    private int _waitingWorkers;

    /// <summary>Rows per chain: whole row tiles of the GEMM micro-kernel (the fused LSTM step's tile wherever chains run),
    /// at least two chains per worker where the batch has the tiles.</summary>
    internal static int ChainRows(int batch, int workers)
    {
        int tile = GemmMicroKernels.TileSize(Gemm.BestKernel).Mr, tiles = (batch + tile - 1) / tile;
        return tile * Math.Max(1, tiles / (2 * workers));
    }

    /// <summary>Cuts the rows into chains for <paramref name="workers"/> workers, none started (allocates only when the
    /// batch needs more chains than any call before).</summary>
    private void PrepareChains(int workers)
    {
        _chainRows = ChainRows(Batch, workers);
        _chainCount = (Batch + _chainRows - 1) / _chainRows;
        if (_chainStepsDone.Length < _chainCount)
        {
            _chainStepsDone = new int[_chainCount];
            _chainHeld = new int[_chainCount];
        }
        Array.Clear(_chainStepsDone, 0, _chainCount);
        Array.Clear(_chainHeld, 0, _chainCount);
        _waitingWorkers = 0;
    }

    /// <summary>
    /// Worker <paramref name="worker"/>'s part of the forward pass: runs of steps of free chains until every chain is
    /// done, or until it hands its chain to a waiting worker with no other chain free.
    /// </summary>
    private void RunForwardChains(int worker, int workers)
    {
        int ownFirst = (int)((long)_chainCount * worker / workers), ownEnd = (int)((long)_chainCount * (worker + 1) / workers);
        int handedOver = -1;
        while (true)
        {
            int chain = TakeChain(ownFirst, ownEnd, skip: handedOver);
            if (chain < 0)
            {
                // Nothing free: after handing a chain to a waiting worker this one stops (the waiter, or any worker
                // still running, takes it); otherwise it waits until a held chain comes free or every chain is done.
                if (handedOver >= 0 || (chain = WaitForChain(ownFirst, ownEnd)) < 0)
                    return;
            }
            int done = _chainStepsDone[chain], remaining = Steps - done;
            int run = Math.Min(remaining, Math.Max(MinimumRunSteps, (remaining + 3) / 4));
            int first = chain * _chainRows, end = Math.Min(Batch, first + _chainRows);
            for (int step = done; step < done + run; step++)
                ForwardRows(step, first, end);
            Volatile.Write(ref _chainStepsDone[chain], done + run);
            // A worker is idle, waiting: hand it this chain rather than take it back. That happens only near the end,
            // once no more chains are unfinished than there are workers. (A late read only delays a hand-over; a
            // count above zero always means a worker that has not stopped.)
            handedOver = done + run < Steps && Volatile.Read(ref _waitingWorkers) > 0 ? chain : -1;
            Volatile.Write(ref _chainHeld[chain], 0); // release: the next holder sees every write of these steps
        }
    }

    /// <summary>
    /// Takes the free unfinished chain with the fewest steps done, one of [<paramref name="ownFirst"/>,
    /// <paramref name="ownEnd"/>) if any is free, never <paramref name="skip"/>; −1 when none is free.
    /// </summary>
    private int TakeChain(int ownFirst, int ownEnd, int skip)
    {
        while (true)
        {
            int chain = FreeChainFurthestBehind(ownFirst, ownEnd, skip);
            if (chain < 0)
                chain = FreeChainFurthestBehind(0, _chainCount, skip);
            if (chain < 0)
                return -1;
            if (Interlocked.CompareExchange(ref _chainHeld[chain], 1, 0) != 0)
                continue; // another worker took it first: look again
            if (_chainStepsDone[chain] < Steps) // read again now that it is held: its last holder may have finished it
                return chain;
            Volatile.Write(ref _chainHeld[chain], 0);
        }
    }

    private int FreeChainFurthestBehind(int first, int end, int skip)
    {
        int best = -1, bestDone = Steps;
        for (int chain = first; chain < end; chain++)
        {
            int done = Volatile.Read(ref _chainStepsDone[chain]);
            if (done < bestDone && chain != skip && Volatile.Read(ref _chainHeld[chain]) == 0)
                (best, bestDone) = (chain, done);
        }
        return best;
    }

    /// <summary>Spins until a chain comes free (taking it), every chain is done or the region failed (−1: a step threw
    /// on another worker, whose chain never comes free; the pool reports the exception), counted as waiting meanwhile.</summary>
    private int WaitForChain(int ownFirst, int ownEnd)
    {
        Interlocked.Increment(ref _waitingWorkers);
        try
        {
            var spin = new SpinWait();
            while (true)
            {
                if (WorkerPool.RegionFailed || AllChainsDone())
                    return -1;
                int chain = TakeChain(ownFirst, ownEnd, skip: -1);
                if (chain >= 0)
                    return chain;
                spin.SpinOnce(sleep1Threshold: -1);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waitingWorkers);
        }
    }

    private bool AllChainsDone()
    {
        for (int chain = 0; chain < _chainCount; chain++)
            if (Volatile.Read(ref _chainStepsDone[chain]) < Steps)
                return false;
        return true;
    }
}
