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
    /// The touched row of rank <paramref name="rank"/> (0: the lowest touched row), or RowCount when fewer rows were
    /// touched: where a worker's share starts when the touched rows are split by count (<c>RowRunClear</c>).
    /// </summary>
    internal int RowOfRank(int rank)
    {
        for (int w = 0; w < _bits.Length; w++)
        {
            ulong word = _bits[w];
            int inWord = System.Numerics.BitOperations.PopCount(word);
            if (rank >= inWord)
            {
                rank -= inWord;
                continue;
            }
            for (; rank > 0; rank--)
                word &= word - 1; // drop the lowest set bit
            return w * 64 + System.Numerics.BitOperations.TrailingZeroCount(word);
        }
        return RowCount;
    }

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
