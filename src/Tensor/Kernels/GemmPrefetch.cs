using System.Runtime.Intrinsics.X86;

namespace NanoNet.Kernels;

/// <summary>
/// Asks for the memory the GEMM's next block will read while the micro-kernels still work on the current one: a few
/// cache lines per micro-tile (asked for along the 8×32 kernel's K loop, <see cref="TakeRun"/>; before the other
/// kernels' tiles, <see cref="Step"/>), so the loads of the next packing (or, for a short K, the next C block's first
/// touch) overlap the FMAs instead of following them.
/// </summary>
/// <remarks>
/// <para>Shape legend: a region is <c>Rows</c> runs of <c>RowBytes</c> bytes, <c>StrideBytes</c> apart (a block of a
/// row-major matrix); a plan holds up to three (the next A block, B slab and C block) and spreads their lines evenly
/// over the micro-tiles of the current macro-kernel.</para>
/// <para>Why: the Dense layers' skinny products stream a big operand from memory (a 7200×128 weight read once per
/// call, M = 64 rows using each element; a 7200×128 weight gradient written once with K = 64), and the BLIS loop does
/// that streaming in bursts (pack a slab, then compute on it), so the core waits for memory, then the memory waits
/// for the core. <c>prefetcht1</c> fills L2 and leaves L1 to the micro-panels.</para>
/// <para>A prefetch changes no value: results stay bitwise identical. x86 only (elsewhere nothing is issued); a plan
/// larger than <see cref="Gemm.HalfL2Bytes"/> is dropped, since it would evict the current packed slab.</para>
/// </remarks>
internal unsafe struct GemmPrefetch
{
    private Region _r0, _r1, _r2;
    private int _region;        // 0..2: the region the cursor is in; 3: done
    private int _row;
    private byte* _line, _rowEnd;
    private int _perTile;

    /// <summary>A block of a row-major matrix: <paramref name="rows"/> runs of <paramref name="rowFloats"/> floats, <paramref name="stride"/> floats apart.
    /// Rows that follow each other (stride = width) are taken as one run, so no line is asked for twice.</summary>
    public readonly struct Region(float* start, int rows, int rowFloats, long stride)
    {
        public readonly byte* Start = (byte*)start;
        public readonly int Rows = start == null ? 0 : stride == rowFloats ? Math.Min(rows, 1) : rows;
        public readonly int RowBytes = (stride == rowFloats ? rows : 1) * rowFloats * sizeof(float);
        public readonly long StrideBytes = stride * sizeof(float);

        /// <summary>Cache lines the region spans (at most one more per row than its bytes fill).</summary>
        public long Lines => RowBytes <= 0 ? 0 : (long)Rows * ((RowBytes + 63) / 64 + 1);
        public long Bytes => (long)Rows * RowBytes;
    }

    /// <summary>Plans the lines of up to three regions over <paramref name="tiles"/> micro-tiles (empty regions: default).</summary>
    public void Set(Region r0, Region r1, Region r2, int tiles)
    {
        (_r0, _r1, _r2) = (r0, r1, r2);
        _region = 3;
        _perTile = 0;
        if (!Sse.IsSupported || r0.Bytes + r1.Bytes + r2.Bytes > Gemm.HalfL2Bytes)
            return;
        long lines = r0.Lines + r1.Lines + r2.Lines;
        if (lines == 0)
            return;
        _perTile = (int)Math.Min(int.MaxValue, (lines + tiles - 1) / Math.Max(1, tiles));
        _region = -1;
        _row = 0;
        NextRegion();
    }

    /// <summary>Nothing to prefetch.</summary>
    public void Clear()
    {
        _region = 3;
        _perTile = 0;
    }

    /// <summary>Issues the next share of the plan in a burst: called once per micro-tile whose kernel does not take its
    /// share as a run (<see cref="TakeRun"/>).</summary>
    public void Step() => Issue(_perTile);

    /// <summary>
    /// Hands the next micro-tile its share of the plan as one contiguous run of lines, for the 8×32 kernel to ask for
    /// one at a time along its K loop (<see cref="GemmMicroKernels.Kernel8x32Strided{TRead}"/>): returns the run's lines (0 when
    /// the plan is done) and its first line. A run stops at the end of a region's row; the rest of the share is
    /// issued here and now, so the plan keeps the pace of <see cref="Step"/>.
    /// </summary>
    public int TakeRun(out byte* start)
    {
        start = _line;
        if (_region >= 3 || _perTile == 0)
            return 0;
        int lines = (int)Math.Min(_perTile, (_rowEnd - _line + 63) / 64);
        _line += (long)lines * 64;
        if (_line >= _rowEnd)
            NextRow();
        Issue(_perTile - lines);
        return lines;
    }

    private void Issue(int lines)
    {
        for (int n = lines; n > 0 && _region < 3; n--)
        {
            Sse.Prefetch1(_line);
            _line += 64;
            if (_line >= _rowEnd)
                NextRow();
        }
    }

    private void NextRow()
    {
        Region r = _region == 0 ? _r0 : _region == 1 ? _r1 : _r2;
        if (++_row >= r.Rows)
        {
            NextRegion();
            return;
        }
        StartRow(r);
    }

    private void NextRegion()
    {
        _row = 0;
        while (++_region < 3)
        {
            Region r = _region == 0 ? _r0 : _region == 1 ? _r1 : _r2;
            if (r.Rows > 0 && r.RowBytes > 0)
            {
                StartRow(r);
                return;
            }
        }
    }

    private void StartRow(Region r)
    {
        byte* start = r.Start + _row * r.StrideBytes;
        _line = (byte*)((nuint)start & ~(nuint)63); // the line holding the first byte
        _rowEnd = start + r.RowBytes;
    }
}
