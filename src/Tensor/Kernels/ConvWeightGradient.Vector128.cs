using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NanoNet.Kernels;

/// <summary>
/// The 128-bit tiles of <see cref="ConvWeightGradient"/>: 8 patch rows × 8 filters in 16 Vector128 accumulators on ARM64
/// (32 vector registers), 6 × 8 in 12 on x86 without AVX (16 XMM registers), the GEMM's 8×8 and 6×8 micro-kernels
/// reading col and dZ in place.
/// </summary>
/// <remarks>
/// <para>Shape legend (as in ConvWeightGradient.cs): col rows × ld (P patch values, then the ones column), dZ rows × F,
/// result (P + 1) × F; here F is a multiple of 8.</para>
/// <para>Per row r: two vectors of dZ[r, f..f+8), R broadcasts of col[r, p..p+R), 2R multiply-adds, R = 8 or 6 (the
/// main tile, <c>TMain</c>), then one shorter tile of the same code for the rows left at the end of
/// P + 1. The multiply-add is <c>MultiplyAddEstimate</c>, as in the GEMM's 128-bit kernels: fused where the machine has
/// FMA (every ARM64), a multiply then an add on x86 without it, where a fused one would be emulated in software.</para>
/// </remarks>

internal static unsafe partial class ConvWeightGradient
{
    /// <summary>The 128-bit tiles over every 8-filter block: <typeparamref name="TMain"/>-row tiles, then one tile of the rows left.</summary>
    private static void Compute128<TMain>(int rows, int patchPlusOne, int filters, float* col, int ld, float* dZ, float* result)
        where TMain : struct, ITileRows
    {
        // Blocks of rows whose col rows fit in about 128 KB, so the tiles after the first read them from the L2 cache, not
        // from memory (a 3×3×64 patch is 2.3 KB a row: one pass per tile over a chunk's 1,800 rows would stream 4 MB).
        // Each element's chain goes on across blocks from its stored sum: the same sum, in the same order.
        int blockRows = Math.Max(32, RowBlockBytes / (ld * sizeof(float)));
        for (int first = 0; first == 0 || first < rows; first += blockRows) // once with no rows: zeros
        {
            int count = Math.Min(blockRows, rows - first);
            bool add = first > 0;
            float* blockCol = col + (long)first * ld, blockDZ = dZ + (long)first * filters;
            for (int f = 0; f < filters; f += 8)
            {
                int p = 0;
                for (; p + TMain.Count <= patchPlusOne; p += TMain.Count)
                    Tile128<TMain>(count, blockCol + p, ld, blockDZ + f, filters, result + (long)p * filters + f, filters, add);
                float* a = blockCol + p, c = result + (long)p * filters + f, b = blockDZ + f;
                switch (patchPlusOne - p)
                {
                    case 7: Tile128<TileRows7>(count, a, ld, b, filters, c, filters, add); break;
                    case 6: Tile128<TileRows6>(count, a, ld, b, filters, c, filters, add); break;
                    case 5: Tile128<TileRows5>(count, a, ld, b, filters, c, filters, add); break;
                    case 4: Tile128<TileRows4>(count, a, ld, b, filters, c, filters, add); break;
                    case 3: Tile128<TileRows3>(count, a, ld, b, filters, c, filters, add); break;
                    case 2: Tile128<TileRows2>(count, a, ld, b, filters, c, filters, add); break;
                    case 1: Tile128<TileRows1>(count, a, ld, b, filters, c, filters, add); break;
                }
            }
        }
    }

    /// <summary>c[R×8] = Σ_r a[r·lda + 0..R)ᵀ · b[r·ldb + 0..8), R = TRows.Count ≤ 8: per row r two vectors of dZ, R broadcasts of col, 2R multiply-adds.</summary>
    private static void Tile128<TRows>(int rows, float* a, int lda, float* b, int ldb, float* c, int ldc, bool add) where TRows : struct, ITileRows
    {
        Vector128<float> c00 = default, c01 = default;
        Vector128<float> c10 = default, c11 = default;
        Vector128<float> c20 = default, c21 = default;
        Vector128<float> c30 = default, c31 = default;
        Vector128<float> c40 = default, c41 = default;
        Vector128<float> c50 = default, c51 = default;
        Vector128<float> c60 = default, c61 = default;
        Vector128<float> c70 = default, c71 = default;
        if (add) // a later block of rows: the chains go on from the sums stored after the earlier rows
        {
            (c00, c01) = (Vector128.Load(c), Vector128.Load(c + 4));
            if (TRows.Count > 1) (c10, c11) = (Vector128.Load(c + 1 * ldc), Vector128.Load(c + 1 * ldc + 4));
            if (TRows.Count > 2) (c20, c21) = (Vector128.Load(c + 2 * ldc), Vector128.Load(c + 2 * ldc + 4));
            if (TRows.Count > 3) (c30, c31) = (Vector128.Load(c + 3 * ldc), Vector128.Load(c + 3 * ldc + 4));
            if (TRows.Count > 4) (c40, c41) = (Vector128.Load(c + 4 * ldc), Vector128.Load(c + 4 * ldc + 4));
            if (TRows.Count > 5) (c50, c51) = (Vector128.Load(c + 5 * ldc), Vector128.Load(c + 5 * ldc + 4));
            if (TRows.Count > 6) (c60, c61) = (Vector128.Load(c + 6 * ldc), Vector128.Load(c + 6 * ldc + 4));
            if (TRows.Count > 7) (c70, c71) = (Vector128.Load(c + 7 * ldc), Vector128.Load(c + 7 * ldc + 4));
        }
        for (int r = 0; r < rows; r++)
        {
            Vector128<float> b0 = Vector128.Load(b);
            Vector128<float> b1 = Vector128.Load(b + 4);
            { Vector128<float> ai = Vector128.Create(a[0]); c00 = Vector128.MultiplyAddEstimate(ai, b0, c00); c01 = Vector128.MultiplyAddEstimate(ai, b1, c01); }
            if (TRows.Count > 1) { Vector128<float> ai = Vector128.Create(a[1]); c10 = Vector128.MultiplyAddEstimate(ai, b0, c10); c11 = Vector128.MultiplyAddEstimate(ai, b1, c11); }
            if (TRows.Count > 2) { Vector128<float> ai = Vector128.Create(a[2]); c20 = Vector128.MultiplyAddEstimate(ai, b0, c20); c21 = Vector128.MultiplyAddEstimate(ai, b1, c21); }
            if (TRows.Count > 3) { Vector128<float> ai = Vector128.Create(a[3]); c30 = Vector128.MultiplyAddEstimate(ai, b0, c30); c31 = Vector128.MultiplyAddEstimate(ai, b1, c31); }
            if (TRows.Count > 4) { Vector128<float> ai = Vector128.Create(a[4]); c40 = Vector128.MultiplyAddEstimate(ai, b0, c40); c41 = Vector128.MultiplyAddEstimate(ai, b1, c41); }
            if (TRows.Count > 5) { Vector128<float> ai = Vector128.Create(a[5]); c50 = Vector128.MultiplyAddEstimate(ai, b0, c50); c51 = Vector128.MultiplyAddEstimate(ai, b1, c51); }
            if (TRows.Count > 6) { Vector128<float> ai = Vector128.Create(a[6]); c60 = Vector128.MultiplyAddEstimate(ai, b0, c60); c61 = Vector128.MultiplyAddEstimate(ai, b1, c61); }
            if (TRows.Count > 7) { Vector128<float> ai = Vector128.Create(a[7]); c70 = Vector128.MultiplyAddEstimate(ai, b0, c70); c71 = Vector128.MultiplyAddEstimate(ai, b1, c71); }
            a += lda;
            b += ldb;
        }
        Store128(c, c00, c01, 4);
        if (TRows.Count > 1) Store128(c + 1 * ldc, c10, c11, 4);
        if (TRows.Count > 2) Store128(c + 2 * ldc, c20, c21, 4);
        if (TRows.Count > 3) Store128(c + 3 * ldc, c30, c31, 4);
        if (TRows.Count > 4) Store128(c + 4 * ldc, c40, c41, 4);
        if (TRows.Count > 5) Store128(c + 5 * ldc, c50, c51, 4);
        if (TRows.Count > 6) Store128(c + 6 * ldc, c60, c61, 4);
        if (TRows.Count > 7) Store128(c + 7 * ldc, c70, c71, 4);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store128(float* c, Vector128<float> lo, Vector128<float> hi, int lanes)
    {
        lo.Store(c);
        hi.Store(c + lanes);
    }
}
