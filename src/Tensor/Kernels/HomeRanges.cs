namespace NanoNet.Kernels;

/// <summary>
/// Hands out the items 0..count−1 of a parallel loop (a GEMM's output tiles, a batch's images or chunks of images):
/// worker w first takes the items of its <b>home range</b> — the w-th of P contiguous parts, in order — then what is
/// left in the other ranges. Each range has its own atomic counter, on its own cache line.
/// </summary>
/// <remarks>
/// <para>Why not one shared counter: with one counter, two workers that keep pace take items 0, 2, 4, … and 1, 3, 5, …,
/// a different interleaving in every op, so the data one op leaves in a core's caches is read by the other core in the
/// next. With home ranges, worker w works on the w-th contiguous part of the batch or of the output in every op, as the
/// element-wise ops and the optimizers (contiguous halves) do: the CIFAR-10 seed's Dense weight stays on one core from
/// dX = dZ·Wᵀ (W's rows by column tiles) to dW (by row bands) to the SGD update (by halves). With a shared counter SGD
/// ran 0.17 ms at 2 threads against 0.09 at 1 (benchmarks/README.md, nineteenth sitting).</para>
/// <para>Taking what is left in the other ranges keeps the load balance of a shared counter when a core is slowed (a
/// busy machine). Every item is taken exactly once, by whichever worker, so a loop whose items are independent (each
/// output written by one item) gives the same results as before, at any thread count.</para>
/// </remarks>
internal sealed class HomeRanges
{
    /// <summary>Per range r, the next item to take in it, at index <see cref="Stride"/>·r (one 64-byte line each).</summary>
    private int[] _next = new int[Stride * 2];
    private int _ranges, _count;
    private const int Stride = 16;

    /// <summary>Cuts items 0..<paramref name="count"/>−1 into one home range per worker; call before the region starts.</summary>
    public void Reset(int count, int workers)
    {
        workers = Math.Max(1, workers);
        if (_next.Length < Stride * workers)
            _next = new int[Stride * workers];
        _count = count;
        _ranges = workers;
        for (int r = 0; r < workers; r++)
            _next[Stride * r] = Start(r);
    }

    /// <summary>Where worker <paramref name="worker"/> starts taking: its home range (any worker count is served).</summary>
    public int HomeOf(int worker) => worker % _ranges;

    /// <summary>
    /// The next item, or −1 when none is left: from <paramref name="range"/> (start with <see cref="HomeOf"/>), moving
    /// on to the next range when it is used up.
    /// </summary>
    public int Take(ref int range)
    {
        for (int visited = 0; visited < _ranges; visited++)
        {
            int item = Interlocked.Increment(ref _next[Stride * range]) - 1;
            if (item < Start(range + 1))
                return item;
            range = range + 1 == _ranges ? 0 : range + 1;
        }
        return -1;
    }

    private int Start(int range) => (int)((long)_count * range / _ranges);
}
