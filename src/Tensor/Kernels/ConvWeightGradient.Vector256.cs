using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NanoNet.Kernels;

/// <summary>
/// The 256-bit tiles of <see cref="ConvWeightGradient"/> (AVX2 machines): 6 patch rows × 16 filters of [dW; db] in 12
/// Vector256 accumulators, the GEMM's 6×16 micro-kernel reading col and dZ in place.
/// </summary>
/// <remarks>
/// <para>Shape legend (as in ConvWeightGradient.cs): col rows × ld (P patch values, then the ones column), dZ rows × F,
/// result (P + 1) × F; here F is a multiple of 16.</para>
/// <para>Per row r: two vectors of dZ[r, f..f+16), six broadcasts of col[r, p..p+6), 12 fused multiply-adds; with two
/// loads and one broadcast register that is 15 of the 16 YMM registers. The patch rows left at the end of P + 1 (28 =
/// 4·6 + 4 for a 3×3 RGB patch with its ones column, 289 = 48·6 + 1) run as one shorter tile of the same code
/// (<see cref="ITileRows"/>), so each dZ block is swept ⌈(P + 1)/6⌉ times.</para>
/// </remarks>

internal static unsafe partial class ConvWeightGradient
{
    /// <summary>The 256-bit tiles over every 16-filter block: 6-row tiles, then one tile of the 1–5 rows left.</summary>
    private static void Compute256(int rows, int patchPlusOne, int filters, float* col, int ld, float* dZ, float* result)
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
            for (int f = 0; f < filters; f += 16)
            {
                int p = 0;
                for (; p + 6 <= patchPlusOne; p += 6)
                    Tile256<TileRows6>(count, blockCol + p, ld, blockDZ + f, filters, result + (long)p * filters + f, filters, add);
                float* a = blockCol + p, c = result + (long)p * filters + f, b = blockDZ + f;
                switch (patchPlusOne - p)
                {
                    case 5: Tile256<TileRows5>(count, a, ld, b, filters, c, filters, add); break;
                    case 4: Tile256<TileRows4>(count, a, ld, b, filters, c, filters, add); break;
                    case 3: Tile256<TileRows3>(count, a, ld, b, filters, c, filters, add); break;
                    case 2: Tile256<TileRows2>(count, a, ld, b, filters, c, filters, add); break;
                    case 1: Tile256<TileRows1>(count, a, ld, b, filters, c, filters, add); break;
                }
            }
        }
    }

    /// <summary>c[R×16] = Σ_r a[r·lda + 0..R)ᵀ · b[r·ldb + 0..16), R = TRows.Count ≤ 6: per row r two vectors of dZ, R broadcasts of col, 2R multiply-adds.</summary>
    private static void Tile256<TRows>(int rows, float* a, int lda, float* b, int ldb, float* c, int ldc, bool add) where TRows : struct, ITileRows
    {
        Vector256<float> c00 = default, c01 = default;
        Vector256<float> c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default;
        Vector256<float> c40 = default, c41 = default;
        Vector256<float> c50 = default, c51 = default;
        if (add) // a later block of rows: the chains go on from the sums stored after the earlier rows
        {
            (c00, c01) = (Vector256.Load(c), Vector256.Load(c + 8));
            if (TRows.Count > 1) (c10, c11) = (Vector256.Load(c + 1 * ldc), Vector256.Load(c + 1 * ldc + 8));
            if (TRows.Count > 2) (c20, c21) = (Vector256.Load(c + 2 * ldc), Vector256.Load(c + 2 * ldc + 8));
            if (TRows.Count > 3) (c30, c31) = (Vector256.Load(c + 3 * ldc), Vector256.Load(c + 3 * ldc + 8));
            if (TRows.Count > 4) (c40, c41) = (Vector256.Load(c + 4 * ldc), Vector256.Load(c + 4 * ldc + 8));
            if (TRows.Count > 5) (c50, c51) = (Vector256.Load(c + 5 * ldc), Vector256.Load(c + 5 * ldc + 8));
        }
        for (int r = 0; r < rows; r++)
        {
            Vector256<float> b0 = Vector256.Load(b);
            Vector256<float> b1 = Vector256.Load(b + 8);
            { Vector256<float> ai = Vector256.Create(a[0]); c00 = Vector256.FusedMultiplyAdd(ai, b0, c00); c01 = Vector256.FusedMultiplyAdd(ai, b1, c01); }
            if (TRows.Count > 1) { Vector256<float> ai = Vector256.Create(a[1]); c10 = Vector256.FusedMultiplyAdd(ai, b0, c10); c11 = Vector256.FusedMultiplyAdd(ai, b1, c11); }
            if (TRows.Count > 2) { Vector256<float> ai = Vector256.Create(a[2]); c20 = Vector256.FusedMultiplyAdd(ai, b0, c20); c21 = Vector256.FusedMultiplyAdd(ai, b1, c21); }
            if (TRows.Count > 3) { Vector256<float> ai = Vector256.Create(a[3]); c30 = Vector256.FusedMultiplyAdd(ai, b0, c30); c31 = Vector256.FusedMultiplyAdd(ai, b1, c31); }
            if (TRows.Count > 4) { Vector256<float> ai = Vector256.Create(a[4]); c40 = Vector256.FusedMultiplyAdd(ai, b0, c40); c41 = Vector256.FusedMultiplyAdd(ai, b1, c41); }
            if (TRows.Count > 5) { Vector256<float> ai = Vector256.Create(a[5]); c50 = Vector256.FusedMultiplyAdd(ai, b0, c50); c51 = Vector256.FusedMultiplyAdd(ai, b1, c51); }
            a += lda;
            b += ldb;
        }
        Store256(c, c00, c01, 8);
        if (TRows.Count > 1) Store256(c + 1 * ldc, c10, c11, 8);
        if (TRows.Count > 2) Store256(c + 2 * ldc, c20, c21, 8);
        if (TRows.Count > 3) Store256(c + 3 * ldc, c30, c31, 8);
        if (TRows.Count > 4) Store256(c + 4 * ldc, c40, c41, 8);
        if (TRows.Count > 5) Store256(c + 5 * ldc, c50, c51, 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store256(float* c, Vector256<float> lo, Vector256<float> hi, int lanes)
    {
        lo.Store(c);
        hi.Store(c + lanes);
    }
}
