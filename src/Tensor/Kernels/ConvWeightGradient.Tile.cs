using System.Runtime.CompilerServices;

namespace NanoNet.Kernels;

/// <summary>
/// The one register tile of every weight gradient (<see cref="ConvWeightGradient"/> over an im2col matrix, and
/// <see cref="DirectConvWeightGradient"/> over the images in place), generic over the vector type and the row count.
/// </summary>
/// <remarks>
/// <para>Shape legend: the tile computes c[R×2L] = Σ over a walk of K steps of a_kᵀ · b_k, where a_k is R consecutive
/// floats (R = <c>TRows.Count</c> ≤ 9 patch values of one output pixel) and b_k is the 2L floats of that pixel's dZ row
/// (L = <c>TLanes.Count</c>: 2L = 32 filters for Vector512, 16 for Vector256, 8 for Vector128). c is R rows ldc apart.</para>
/// <para>Per step: two vectors of dZ, R broadcasts of a, 2R multiply-adds into 2R accumulators that stay in registers for
/// the whole walk and are stored once. The JIT compiles one copy per (lanes, rows) pair with both counts constant: the
/// <c>if (TRows.Count &gt; k)</c> lines vanish with their accumulators, so each copy is the hand-written tile of that
/// height (an 8×32 tile is the GEMM's AVX-512 micro-kernel: 16 accumulators, two loads and a broadcast register).</para>
/// <para>Each element is one chain of multiply-adds over the walk's steps in order, from zero (or from the sum stored by
/// an earlier part of the same walk, <c>add</c>): the tile shape and the vector width decide only which elements share
/// a pass, never an element's chain, so every width and every tiling gives the same bits where the multiply-add is fused.</para>
/// </remarks>
internal static unsafe partial class ConvWeightGradient
{
    /// <summary>
    /// The steps of a tile's walk over A, in order: image i (ImageStride floats apart), row r (RowStep floats apart), pixel q
    /// (PixelStep floats apart). An im2col matrix is one image of one row of K pixels, PixelStep = ld; the direct kernel
    /// walks the output pixels of the chunk's images with the strides of the source image.
    /// </summary>
    internal readonly record struct Walk(int Images, int Rows, int Pixels, long ImageStride, long RowStep, int PixelStep)
    {
        /// <summary>K rows of an im2col matrix, ld floats apart.</summary>
        public static Walk Matrix(int rows, int ld) => new(1, 1, rows, 0, 0, ld);
    }

    /// <summary>
    /// One tile of <paramref name="rows"/> (1 to 9) patch rows: <see cref="Tile{TLanes, TRows}"/> with the row count as a
    /// type (each height its own compiled copy).
    /// </summary>
    internal static void Tile<TLanes>(int rows, in Walk walk, float* a, float* b, int ldb, float* c, int ldc, bool add)
        where TLanes : struct, ILanes<TLanes> =>
        TileOfHeight<TLanes, NoColumnSums>(rows, walk, a, b, ldb, c, ldc, add, null);

    /// <summary>
    /// <see cref="Tile{TLanes}(int, in Walk, float*, float*, int, float*, int, bool)"/>, and with
    /// <typeparamref name="TSums"/> = <see cref="ColumnSumsToo"/> also sums[0..2L) (+)= Σ over the walk of b's rows.
    /// </summary>
    internal static void TileOfHeight<TLanes, TSums>(int rows, in Walk walk, float* a, float* b, int ldb, float* c, int ldc, bool add, float* sums)
        where TLanes : struct, ILanes<TLanes> where TSums : struct, IColumnSums
    {
        switch (rows)
        {
            case 1: Tile<TLanes, TileRows1, TSums>(walk, a, b, ldb, c, ldc, add, sums); break;
            case 2: Tile<TLanes, TileRows2, TSums>(walk, a, b, ldb, c, ldc, add, sums); break;
            case 3: Tile<TLanes, TileRows3, TSums>(walk, a, b, ldb, c, ldc, add, sums); break;
            case 4: Tile<TLanes, TileRows4, TSums>(walk, a, b, ldb, c, ldc, add, sums); break;
            case 5: Tile<TLanes, TileRows5, TSums>(walk, a, b, ldb, c, ldc, add, sums); break;
            case 6: Tile<TLanes, TileRows6, TSums>(walk, a, b, ldb, c, ldc, add, sums); break;
            case 7: Tile<TLanes, TileRows7, TSums>(walk, a, b, ldb, c, ldc, add, sums); break;
            case 8: Tile<TLanes, TileRows8, TSums>(walk, a, b, ldb, c, ldc, add, sums); break;
            case 9: Tile<TLanes, TileRows9, TSums>(walk, a, b, ldb, c, ldc, add, sums); break;
            default: throw new ArgumentOutOfRangeException(nameof(rows), rows, "A weight-gradient tile has 1 to 9 rows.");
        }
    }

    /// <summary>Whether a tile also sums B's rows (a bias gradient, db = Σ dZ): a type argument, so the tile without it
    /// compiles as before, with no trace of the sums.</summary>
    internal interface IColumnSums { static abstract bool Sums { get; } }
    internal readonly struct NoColumnSums : IColumnSums { public static bool Sums => false; }
    internal readonly struct ColumnSumsToo : IColumnSums { public static bool Sums => true; }

    /// <summary>
    /// c[R×2L] (+)= Σ over the walk of a[step + 0..R)ᵀ · b[k·ldb + 0..2L), R = TRows.Count, L = TLanes.Count: step k of the
    /// walk reads A at its pixel's position and the k-th row of B (<paramref name="ldb"/> floats after the previous one).
    /// With <paramref name="add"/> the chains go on from the sums stored in c (a later block of the same walk).
    /// </summary>
    internal static void Tile<TLanes, TRows>(in Walk walk, float* a, float* b, int ldb, float* c, int ldc, bool add)
        where TLanes : struct, ILanes<TLanes> where TRows : struct, ITileRows =>
        Tile<TLanes, TRows, NoColumnSums>(walk, a, b, ldb, c, ldc, add, null);

    /// <summary>
    /// <see cref="Tile{TLanes, TRows}"/>, and with <typeparamref name="TSums"/> = <see cref="ColumnSumsToo"/> also
    /// sums[0..2L) (+)= Σ over the walk of b's rows: two more chains, each step's b0 and b1 added to them — what a 1-row tile
    /// over a constant 1 computes (fma(1, b, s) is s + b, rounded once), the same bits, without a walk of its own whose two
    /// chains wait on the add's latency.
    /// </summary>
    internal static void Tile<TLanes, TRows, TSums>(in Walk walk, float* a, float* b, int ldb, float* c, int ldc, bool add, float* sums)
        where TLanes : struct, ILanes<TLanes> where TRows : struct, ITileRows where TSums : struct, IColumnSums
    {
        nuint half = (nuint)TLanes.Count; // the second vector of a row of 2L filters
        TLanes s0 = default, s1 = default;
        if (TSums.Sums && add)
            (s0, s1) = (TLanes.Load(ref *sums, 0), TLanes.Load(ref *sums, half));
        TLanes c00 = default, c01 = default;
        TLanes c10 = default, c11 = default;
        TLanes c20 = default, c21 = default;
        TLanes c30 = default, c31 = default;
        TLanes c40 = default, c41 = default;
        TLanes c50 = default, c51 = default;
        TLanes c60 = default, c61 = default;
        TLanes c70 = default, c71 = default;
        TLanes c80 = default, c81 = default;
        if (add) // a later block of the walk: the chains go on from the sums stored after the earlier steps
        {
            (c00, c01) = (TLanes.Load(ref *c, 0), TLanes.Load(ref *c, half));
            if (TRows.Count > 1) (c10, c11) = (TLanes.Load(ref c[1 * ldc], 0), TLanes.Load(ref c[1 * ldc], half));
            if (TRows.Count > 2) (c20, c21) = (TLanes.Load(ref c[2 * ldc], 0), TLanes.Load(ref c[2 * ldc], half));
            if (TRows.Count > 3) (c30, c31) = (TLanes.Load(ref c[3 * ldc], 0), TLanes.Load(ref c[3 * ldc], half));
            if (TRows.Count > 4) (c40, c41) = (TLanes.Load(ref c[4 * ldc], 0), TLanes.Load(ref c[4 * ldc], half));
            if (TRows.Count > 5) (c50, c51) = (TLanes.Load(ref c[5 * ldc], 0), TLanes.Load(ref c[5 * ldc], half));
            if (TRows.Count > 6) (c60, c61) = (TLanes.Load(ref c[6 * ldc], 0), TLanes.Load(ref c[6 * ldc], half));
            if (TRows.Count > 7) (c70, c71) = (TLanes.Load(ref c[7 * ldc], 0), TLanes.Load(ref c[7 * ldc], half));
            if (TRows.Count > 8) (c80, c81) = (TLanes.Load(ref c[8 * ldc], 0), TLanes.Load(ref c[8 * ldc], half));
        }
        int images = walk.Images, rows = walk.Rows, pixels = walk.Pixels, step = walk.PixelStep;
        for (int i = 0; i < images; i++)
        {
            for (int r = 0; r < rows; r++)
            {
                float* p = a + i * walk.ImageStride + r * walk.RowStep;
                for (int q = 0; q < pixels; q++, p += step, b += ldb)
                {
                    TLanes b0 = TLanes.Load(ref *b, 0), b1 = TLanes.Load(ref *b, half);
                    { TLanes ai = TLanes.Create(p[0]); TLanes.MultiplyAdd(ai, b0, ref c00); TLanes.MultiplyAdd(ai, b1, ref c01); }
                    if (TRows.Count > 1) { TLanes ai = TLanes.Create(p[1]); TLanes.MultiplyAdd(ai, b0, ref c10); TLanes.MultiplyAdd(ai, b1, ref c11); }
                    if (TRows.Count > 2) { TLanes ai = TLanes.Create(p[2]); TLanes.MultiplyAdd(ai, b0, ref c20); TLanes.MultiplyAdd(ai, b1, ref c21); }
                    if (TRows.Count > 3) { TLanes ai = TLanes.Create(p[3]); TLanes.MultiplyAdd(ai, b0, ref c30); TLanes.MultiplyAdd(ai, b1, ref c31); }
                    if (TRows.Count > 4) { TLanes ai = TLanes.Create(p[4]); TLanes.MultiplyAdd(ai, b0, ref c40); TLanes.MultiplyAdd(ai, b1, ref c41); }
                    if (TRows.Count > 5) { TLanes ai = TLanes.Create(p[5]); TLanes.MultiplyAdd(ai, b0, ref c50); TLanes.MultiplyAdd(ai, b1, ref c51); }
                    if (TRows.Count > 6) { TLanes ai = TLanes.Create(p[6]); TLanes.MultiplyAdd(ai, b0, ref c60); TLanes.MultiplyAdd(ai, b1, ref c61); }
                    if (TRows.Count > 7) { TLanes ai = TLanes.Create(p[7]); TLanes.MultiplyAdd(ai, b0, ref c70); TLanes.MultiplyAdd(ai, b1, ref c71); }
                    if (TRows.Count > 8) { TLanes ai = TLanes.Create(p[8]); TLanes.MultiplyAdd(ai, b0, ref c80); TLanes.MultiplyAdd(ai, b1, ref c81); }
                    if (TSums.Sums) { s0 += b0; s1 += b1; }
                }
            }
        }
        Store(c, half, c00, c01);
        if (TRows.Count > 1) Store(c + 1 * ldc, half, c10, c11);
        if (TRows.Count > 2) Store(c + 2 * ldc, half, c20, c21);
        if (TRows.Count > 3) Store(c + 3 * ldc, half, c30, c31);
        if (TRows.Count > 4) Store(c + 4 * ldc, half, c40, c41);
        if (TRows.Count > 5) Store(c + 5 * ldc, half, c50, c51);
        if (TRows.Count > 6) Store(c + 6 * ldc, half, c60, c61);
        if (TRows.Count > 7) Store(c + 7 * ldc, half, c70, c71);
        if (TRows.Count > 8) Store(c + 8 * ldc, half, c80, c81);
        if (TSums.Sums) Store(sums, half, s0, s1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TLanes>(float* c, nuint half, TLanes lo, TLanes hi) where TLanes : struct, ILanes<TLanes>
    {
        TLanes.Store(lo, ref *c, 0);
        TLanes.Store(hi, ref *c, half);
    }
}
