using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NanoNet.Kernels;

/// <summary>
/// Axis permutation (a materialised transpose) on spans.
/// </summary>
/// <remarks>
/// <para>Shape legend: x has shape S (rank R); axes is a permutation of 0..R−1; y has shape
/// (S[axes[0]], …, S[axes[R−1]]): output axis k is input axis axes[k], so
/// y[i₀, …, i_{R−1}] = x[j] where j[axes[k]] = i[k].</para>
/// <para>The plan, cheapest first:</para>
/// <list type="number">
/// <item><b>Simplify.</b> Size-1 axes do not move any data: drop them. Input axes that stay next to
/// each other, in order, in the output move as one block: merge them. Transposing the last two axes
/// of (B, M, N) stays (B, M, N) → (B, N, M); the attention head split (0, 2, 1, 3) of (N, T, H, D)
/// stays as it is; (1, 2, 0) of (A, B, C) becomes the 2-D transpose (A, BC) → (BC, A).</item>
/// <item><b>Contiguous runs.</b> When x's innermost axis is still y's innermost, every output row is a
/// contiguous input run: one span copy per row.</item>
/// <item><b>Tiled transpose.</b> Otherwise x's innermost axis (the columns) lands somewhere further out
/// in y, and y's innermost axis (the rows) comes from further out in x. For every combination of the
/// remaining axes this is a strided 2-D transpose, done in 32×32 tiles that stay in L1, each tile as
/// 8×8 register transposes (AVX) with scalar edges.</item>
/// </list>
/// <para>Large permutations split their row blocks (or runs) across the workers; a copy gives the same
/// bits whatever the split.</para>
/// </remarks>
public static unsafe class PermuteKernels
{
    private const int Tile = 32;                    // rows and columns of one cache tile
    private const int ParallelThreshold = 1 << 16;  // elements below which one thread is faster

    /// <summary>y = x with its axes permuted (see the shape legend); with <paramref name="accumulate"/>, y += instead.</summary>
    /// <exception cref="ArgumentException">axes is not a permutation of 0..R−1, or the span lengths do not match the shape.</exception>
    public static void Permute(ReadOnlySpan<float> x, ReadOnlySpan<int> shape, ReadOnlySpan<int> axes, Span<float> y, bool accumulate = false)
    {
        int rank = shape.Length;
        int length = Shapes.Product(shape);
        if (axes.Length != rank || x.Length != length || y.Length != length)
            throw new ArgumentException($"Permute kernel: shape {Shapes.Format(shape)} with axes {Shapes.Format(axes)} needs x and y of {length} elements, got {x.Length} and {y.Length}.");
        Span<bool> seen = stackalloc bool[rank];
        foreach (int axis in axes)
        {
            if ((uint)axis >= (uint)rank || seen[axis])
                throw new ArgumentException($"Permute kernel: axes {Shapes.Format(axes)} are not a permutation of 0..{rank - 1}.");
            seen[axis] = true;
        }
        if (length == 0)
            return;
        fixed (float* px = x, py = y)
        {
            if (accumulate)
                Run<Accumulate>(px, py, length, shape, axes);
            else
                Run<Overwrite>(px, py, length, shape, axes);
        }
    }

    private static void Run<TMode>(float* x, float* y, int length, ReadOnlySpan<int> shape, ReadOnlySpan<int> axes) where TMode : struct, IStoreMode
    {
        Span<int> dims = stackalloc int[shape.Length];
        Span<int> perm = stackalloc int[shape.Length];
        int rank = Simplify(shape, axes, dims, perm);
        var job = PermuteJob<TMode>.ForThisThread();
        job.Plan(x, y, length, dims[..rank], perm[..rank]);
        int workers = length < ParallelThreshold ? 1 : (int)Math.Min(Parallelism.CurrentMaxThreads, job.Items);
        Parallelism.Run(job, workers);
    }

    /// <summary>
    /// Drops size-1 axes and merges input axes that stay adjacent and in order; writes the reduced input
    /// dims and permutation and returns the reduced rank (0 or 1 means y is a plain copy of x).
    /// </summary>
    internal static int Simplify(ReadOnlySpan<int> shape, ReadOnlySpan<int> axes, Span<int> dims, Span<int> perm)
    {
        int rank = shape.Length;
        // 1. Keep the axes longer than 1, renumbered 0..kept−1 in input order.
        Span<int> renumbered = stackalloc int[rank];
        Span<int> keptDims = stackalloc int[rank];
        int kept = 0;
        for (int a = 0; a < rank; a++)
        {
            renumbered[a] = shape[a] == 1 ? -1 : kept;
            if (shape[a] != 1)
                keptDims[kept++] = shape[a];
        }
        Span<int> keptPerm = stackalloc int[kept];
        int position = 0;
        foreach (int axis in axes)
            if (shape[axis] != 1)
                keptPerm[position++] = renumbered[axis];

        // 2. An input axis starts a new block unless, in the output, it directly follows its predecessor.
        Span<bool> startsBlock = stackalloc bool[kept];
        for (int k = 0; k < kept; k++)
            if (k == 0 || keptPerm[k - 1] != keptPerm[k] - 1)
                startsBlock[keptPerm[k]] = true;
        Span<int> blockOf = stackalloc int[kept];
        int blocks = 0;
        for (int a = 0; a < kept; a++)
        {
            if (startsBlock[a])
                dims[blocks++] = 1;
            dims[blocks - 1] *= keptDims[a];
            blockOf[a] = blocks - 1;
        }
        int b = 0;
        for (int k = 0; k < kept; k++)
            if (k == 0 || keptPerm[k - 1] != keptPerm[k] - 1)
                perm[b++] = blockOf[keptPerm[k]];
        return blocks;
    }

    /// <summary>
    /// The planned permutation and one worker's share of it. One instance per thread and mode, reused
    /// across calls (starting a parallel region allocates nothing).
    /// </summary>
    private sealed class PermuteJob<TMode> : ParallelJob where TMode : struct, IStoreMode
    {
        [ThreadStatic] private static PermuteJob<TMode>? t_instance;

        public static PermuteJob<TMode> ForThisThread() => t_instance ??= new PermuteJob<TMode>();

        private enum Kind { Copy, Runs, Transpose }

        private float* _x, _y;
        private Kind _kind;

        // The outer axes (in output order) that the odometer walks, with their input and output strides.
        private int[] _outerDims = new int[8], _outerIn = new int[8], _outerOut = new int[8];
        private int _outerRank;
        private long _outerCount;

        private int _runLength;                               // Runs: elements per contiguous run
        private int _rows, _columns, _rowStride, _columnStride; // Transpose: y[c·columnStride + r] = x[r·rowStride + c]
        private int _rowBlocks;

        /// <summary>Work items the workers share: flat chunks, runs, or (outer combination, row block) pairs.</summary>
        public long Items { get; private set; }

        public void Plan(float* x, float* y, int length, ReadOnlySpan<int> dims, ReadOnlySpan<int> perm)
        {
            _x = x;
            _y = y;
            int rank = dims.Length;
            if (rank <= 1)
            {
                _kind = Kind.Copy;
                Items = length;
                return;
            }
            if (_outerDims.Length < rank)
                (_outerDims, _outerIn, _outerOut) = (new int[rank], new int[rank], new int[rank]);

            Span<int> inStride = stackalloc int[rank], outStride = stackalloc int[rank];
            inStride[rank - 1] = outStride[rank - 1] = 1;
            for (int a = rank - 2; a >= 0; a--)
            {
                inStride[a] = inStride[a + 1] * dims[a + 1];
                outStride[a] = outStride[a + 1] * dims[perm[a + 1]];
            }

            // Where x's innermost axis sits in y.
            int columnPosition = perm.IndexOf(rank - 1);
            _kind = columnPosition == rank - 1 ? Kind.Runs : Kind.Transpose;
            _outerRank = 0;
            _outerCount = 1;
            for (int k = 0; k < rank - 1; k++)
            {
                if (k == columnPosition)
                    continue;
                _outerDims[_outerRank] = dims[perm[k]];
                _outerIn[_outerRank] = inStride[perm[k]];
                _outerOut[_outerRank] = outStride[k];
                _outerCount *= dims[perm[k]];
                _outerRank++;
            }
            if (_kind == Kind.Runs)
            {
                _runLength = dims[rank - 1];
                Items = _outerCount;
            }
            else
            {
                int rowAxis = perm[rank - 1];
                (_rows, _rowStride) = (dims[rowAxis], inStride[rowAxis]);
                (_columns, _columnStride) = (dims[rank - 1], outStride[columnPosition]);
                _rowBlocks = (_rows + Tile - 1) / Tile;
                Items = _outerCount * _rowBlocks;
            }
        }

        public override void RunWorker(int worker, int workerCount)
        {
            long from = Items * worker / workerCount, to = Items * (worker + 1) / workerCount;
            if (from >= to)
                return;
            if (_kind == Kind.Copy)
            {
                TMode.Run(new ReadOnlySpan<float>(_x + from, (int)(to - from)), new Span<float>(_y + from, (int)(to - from)));
                return;
            }
            ReadOnlySpan<int> dims = _outerDims.AsSpan(0, _outerRank);
            Span<int> counter = stackalloc int[_outerRank];
            if (_kind == Kind.Runs)
            {
                var odometer = new StridedOdometer(dims, _outerIn.AsSpan(0, _outerRank), _outerOut.AsSpan(0, _outerRank), counter, from, 0, 0);
                for (long run = from; run < to; run++, odometer.Next())
                    TMode.Run(new ReadOnlySpan<float>(_x + odometer.Source, _runLength), new Span<float>(_y + odometer.Destination, _runLength));
                return;
            }
            // Transpose: item = outer combination × row block.
            var outer = new StridedOdometer(dims, _outerIn.AsSpan(0, _outerRank), _outerOut.AsSpan(0, _outerRank), counter, from / _rowBlocks, 0, 0);
            int block = (int)(from % _rowBlocks);
            for (long item = from; item < to; item++)
            {
                int firstRow = block * Tile, rows = Math.Min(Tile, _rows - firstRow);
                TransposeRows<TMode>(_x + outer.Source + (long)firstRow * _rowStride, _rowStride,
                    _y + outer.Destination + firstRow, _columnStride, rows, _columns);
                if (++block == _rowBlocks)
                {
                    block = 0;
                    outer.Next();
                }
            }
        }
    }

    /// <summary>
    /// y[c·yStride + r] (=|+=) x[r·xStride + c] for r &lt; rows (at most one tile), c &lt; columns,
    /// one 32-column tile at a time, 8×8 register blocks inside, scalar edges.
    /// </summary>
    private static void TransposeRows<TMode>(float* x, int xStride, float* y, int yStride, int rows, int columns) where TMode : struct, IStoreMode
    {
        for (int c0 = 0; c0 < columns; c0 += Tile)
        {
            int cEnd = Math.Min(c0 + Tile, columns);
            int r = 0;
            if (Avx.IsSupported)
            {
                for (; r + 8 <= rows; r += 8)
                {
                    int c = c0;
                    for (; c + 8 <= cEnd; c += 8)
                        Transpose8x8<TMode>(x + (long)r * xStride + c, xStride, y + (long)c * yStride + r, yStride);
                    TransposeScalar<TMode>(x + (long)r * xStride, xStride, y + r, yStride, 8, c, cEnd);
                }
            }
            TransposeScalar<TMode>(x + (long)r * xStride, xStride, y + r, yStride, rows - r, c0, cEnd);
        }
    }

    /// <summary>The scalar edge: columns [c0, cEnd) of <paramref name="rows"/> rows, walking y contiguously.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TransposeScalar<TMode>(float* x, int xStride, float* y, int yStride, int rows, int c0, int cEnd) where TMode : struct, IStoreMode
    {
        for (int c = c0; c < cEnd; c++)
        {
            float* yRow = y + (long)c * yStride;
            for (int r = 0; r < rows; r++)
                TMode.Element(yRow + r, x[(long)r * xStride + c]);
        }
    }

    /// <summary>
    /// The 8×8 block starting at x (rows xStride apart) written transposed to y (rows yStride apart):
    /// eight row loads, then three rounds of lane shuffles (interleave pairs of rows, then pairs of
    /// pairs, then swap 128-bit halves) leave column k of the block in register k.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8<TMode>(float* x, int xStride, float* y, int yStride) where TMode : struct, IStoreMode
    {
        Vector256<float> row0 = Avx.LoadVector256(x), row1 = Avx.LoadVector256(x + xStride);
        Vector256<float> row2 = Avx.LoadVector256(x + 2L * xStride), row3 = Avx.LoadVector256(x + 3L * xStride);
        Vector256<float> row4 = Avx.LoadVector256(x + 4L * xStride), row5 = Avx.LoadVector256(x + 5L * xStride);
        Vector256<float> row6 = Avx.LoadVector256(x + 6L * xStride), row7 = Avx.LoadVector256(x + 7L * xStride);

        // Round 1: interleave rows 2i and 2i+1 element by element (within each 128-bit half).
        Vector256<float> pairLow01 = Avx.UnpackLow(row0, row1), pairHigh01 = Avx.UnpackHigh(row0, row1);
        Vector256<float> pairLow23 = Avx.UnpackLow(row2, row3), pairHigh23 = Avx.UnpackHigh(row2, row3);
        Vector256<float> pairLow45 = Avx.UnpackLow(row4, row5), pairHigh45 = Avx.UnpackHigh(row4, row5);
        Vector256<float> pairLow67 = Avx.UnpackLow(row6, row7), pairHigh67 = Avx.UnpackHigh(row6, row7);

        // Round 2: pick two-element groups from two interleaved pairs. "top k" holds rows 0..3 of column k
        // in its low 128-bit half and of column k+4 in its high half; "bottom k" the same for rows 4..7.
        Vector256<float> top0 = Avx.Shuffle(pairLow01, pairLow23, 0b01_00_01_00), top1 = Avx.Shuffle(pairLow01, pairLow23, 0b11_10_11_10);
        Vector256<float> top2 = Avx.Shuffle(pairHigh01, pairHigh23, 0b01_00_01_00), top3 = Avx.Shuffle(pairHigh01, pairHigh23, 0b11_10_11_10);
        Vector256<float> bottom0 = Avx.Shuffle(pairLow45, pairLow67, 0b01_00_01_00), bottom1 = Avx.Shuffle(pairLow45, pairLow67, 0b11_10_11_10);
        Vector256<float> bottom2 = Avx.Shuffle(pairHigh45, pairHigh67, 0b01_00_01_00), bottom3 = Avx.Shuffle(pairHigh45, pairHigh67, 0b11_10_11_10);

        // Round 3: join the low halves (columns 0..3) and the high halves (columns 4..7) of top and bottom.
        TMode.Vector(y, Avx.Permute2x128(top0, bottom0, 0x20));
        TMode.Vector(y + yStride, Avx.Permute2x128(top1, bottom1, 0x20));
        TMode.Vector(y + 2L * yStride, Avx.Permute2x128(top2, bottom2, 0x20));
        TMode.Vector(y + 3L * yStride, Avx.Permute2x128(top3, bottom3, 0x20));
        TMode.Vector(y + 4L * yStride, Avx.Permute2x128(top0, bottom0, 0x31));
        TMode.Vector(y + 5L * yStride, Avx.Permute2x128(top1, bottom1, 0x31));
        TMode.Vector(y + 6L * yStride, Avx.Permute2x128(top2, bottom2, 0x31));
        TMode.Vector(y + 7L * yStride, Avx.Permute2x128(top3, bottom3, 0x31));
    }
}
