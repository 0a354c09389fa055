namespace NanoNet.Autograd;

/// <summary>
/// The rows (first axis) of a gradient that may be non-zero, when only row-sparse ops (an embedding's
/// backward) wrote it since it was last zeroed: what <see cref="Tensor.TouchedGradientRows"/> reports, so an
/// optimizer whose update leaves a weight unchanged under a zero gradient (plain SGD) visits those rows only.
/// </summary>
/// <remarks>Shape legend: the gradient is R×D (any trailing shape flattened into D); the set is a bitmap of R bits.</remarks>
public sealed class GradientRows
{
    private readonly ulong[] _bits;

    internal GradientRows(int rows)
    {
        RowCount = rows;
        _bits = new ulong[(rows + 63) / 64];
    }

    /// <summary>R: rows of the gradient.</summary>
    public int RowCount { get; }

    /// <summary>How many distinct rows were touched.</summary>
    public int Count { get; private set; }

    /// <summary>Whether <paramref name="row"/> was touched.</summary>
    public bool Contains(int row) => (_bits[row >> 6] & (1UL << row)) != 0;

    internal void Add(int row)
    {
        ref ulong word = ref _bits[row >> 6];
        ulong bit = 1UL << row; // the shift count is taken mod 64
        if ((word & bit) == 0)
        {
            word |= bit;
            Count++;
        }
    }

    internal void Clear()
    {
        Array.Clear(_bits);
        Count = 0;
    }

    /// <summary>
    /// The next run of consecutive touched rows at or after <paramref name="from"/>, in increasing order:
    /// false when there is none. Start with <paramref name="from"/> = 0 and pass back <c>start + length</c>.
    /// </summary>
    public bool NextRun(int from, out int start, out int length)
    {
        start = Find(from, touched: true);
        if (start >= RowCount)
        {
            length = 0;
            return false;
        }
        length = Find(start, touched: false) - start;
        return true;
    }

    /// <summary>
    /// What the touched rows cost to visit when each run of consecutive touched rows weighs <paramref name="runCost"/>
    /// (the wait for its first line) plus <paramref name="width"/> per row: the total that <see cref="RowAtCost"/> splits.
    /// </summary>
    internal long Cost(int width, int runCost)
    {
        long rows = 0, runs = 0;
        ulong previous = 0;
        foreach (ulong word in _bits)
        {
            rows += System.Numerics.BitOperations.PopCount(word);
            runs += System.Numerics.BitOperations.PopCount(RunStarts(word, previous));
            previous = word;
        }
        return rows * width + runs * runCost;
    }

    /// <summary>
    /// Where a share of the touched rows starts when they are split by <see cref="Cost"/>: the touched row during which
    /// the running cost passes <paramref name="target"/> (a run's <paramref name="runCost"/> counted just before its first
    /// row), or RowCount when the whole cost is no more than it. The optimizer's fused update cuts the same runs at the
    /// same costs (<c>FusedUpdate.SplitPoint</c>, as elements), so each worker clears the rows it has just updated.
    /// </summary>
    internal int RowAtCost(double target, int width, int runCost)
    {
        double cost = 0;
        ulong previous = 0;
        for (int w = 0; w < _bits.Length; w++)
        {
            ulong word = _bits[w], starts = RunStarts(word, previous);
            previous = word;
            double wordCost = (double)System.Numerics.BitOperations.PopCount(word) * width
                + (double)System.Numerics.BitOperations.PopCount(starts) * runCost;
            if (cost + wordCost <= target) // no row of this word holds the target
            {
                cost += wordCost;
                continue;
            }
            for (; word != 0; word &= word - 1)
            {
                int bit = System.Numerics.BitOperations.TrailingZeroCount(word);
                if ((starts >> bit & 1) != 0)
                    cost += runCost;
                if (cost + width > target)
                    return w * 64 + bit;
                cost += width;
            }
        }
        return RowCount;
    }

    /// <summary>
    /// Where share <paramref name="share"/> of <paramref name="shares"/> starts when the touched rows are cut at equal
    /// shares of <paramref name="totalCost"/> (<see cref="Cost"/> with the same width and run cost): 0 for the first,
    /// <see cref="RowCount"/> past the last, else <see cref="RowAtCost"/>. The optimizer's update of the touched rows,
    /// their clearing and the embedding's scatter into them all cut here, so each worker keeps the same rows.
    /// </summary>
    internal int ShareStart(int share, int shares, long totalCost, int width, int runCost) =>
        share <= 0 ? 0 : share >= shares ? RowCount : RowAtCost((double)totalCost * share / shares, width, runCost);

    /// <summary>The bits of <paramref name="word"/> whose row starts a run: touched, with the row before untouched.</summary>
    private static ulong RunStarts(ulong word, ulong previousWord) => word & ~(word << 1 | previousWord >> 63);

    /// <summary>The first row at or after <paramref name="from"/> whose bit equals <paramref name="touched"/> (RowCount if none).</summary>
    private int Find(int from, bool touched)
    {
        for (int w = from >> 6; w < _bits.Length; w++)
        {
            ulong word = touched ? _bits[w] : ~_bits[w];
            if (w == from >> 6)
                word &= ~0UL << (from & 63);
            if (word != 0)
                return Math.Min(RowCount, w * 64 + System.Numerics.BitOperations.TrailingZeroCount(word));
        }
        return RowCount;
    }
}
