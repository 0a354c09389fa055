using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NanoNet.Kernels;

/// <summary>
/// A convolution's weight gradient for one chunk of images, [dW; db] = colᵀ·dZ, summed in registers over all the
/// chunk's rows instead of through the general GEMM.
/// </summary>
/// <remarks>
/// <para>Shape legend: col is rows × ld, one im2col row per output pixel (P = KH·KW·C patch values, then the ones
/// column at index P, so ld ≥ P + 1); dZ is rows × F (the masked output gradient, NHWC); the result [dW; db] is
/// (P + 1) × F, row-major (dW is the (KH, KW, C, F) kernel read as P×F, and db its last row).</para>
/// <para>Why not <see cref="Gemm"/>: this product is skinny, (P + 1) × F with F = 32 or 64, and dominated by K, the
/// chunk's rows (1,800 for two 30×30 images). The GEMM packs colᵀ (a transposed gather out of rows of P + 1) and dZ
/// into panels for every 256-deep slab of K, and reloads and stores its C tiles once per slab. Here neither operand
/// needs packing: a row r of col already holds the 8 consecutive patch values one tile row-block needs (the values a
/// packed A panel would hold, ld apart instead of 8), and a row of dZ holds the 32 filters of a B panel row (F apart
/// instead of 32). So the tile reads both in place and keeps its 8×32 block of [dW; db] in 16 Vector512 registers
/// across all the rows, storing it once.</para>
/// <para>The tile: for each row r, two vectors of dZ[r, f..f+32) and eight broadcasts of col[r, p..p+8), 16 fused
/// multiply-adds (the GEMM's 8×32 micro-kernel with other strides). Patch rows left over at the end of P + 1 (28 =
/// 3·8 + 4 for a 3×3 RGB patch with its ones column, 289 = 36·8 + 1 for 32 channels) run as 4-row and 1-row
/// tiles. Each element is a plain sum over r in order, so the chunk's result does not depend on threads.</para>
/// <para>Applies when 512-bit vectors are accelerated and F is a multiple of 32; otherwise the caller uses the GEMM.</para>
/// </remarks>
internal static unsafe class ConvWeightGradient
{
    /// <summary>Whether <see cref="Compute"/> handles <paramref name="filters"/> on this machine.</summary>
    public static bool Applies(int filters) => Vector512.IsHardwareAccelerated && filters % 32 == 0 && filters > 0;

    /// <summary>result[(P+1)×F] = colᵀ·dZ over <paramref name="rows"/> rows (overwrites the result).</summary>
    public static void Compute(int rows, int patchPlusOne, int filters, float* col, int ld, float* dZ, float* result)
    {
        for (int f = 0; f < filters; f += 32)
        {
            int p = 0;
            for (; p + 8 <= patchPlusOne; p += 8)
                Tile8(rows, col + p, ld, dZ + f, filters, result + (long)p * filters + f, filters);
            if (p + 4 <= patchPlusOne)
            {
                Tile4(rows, col + p, ld, dZ + f, filters, result + (long)p * filters + f, filters);
                p += 4;
            }
            for (; p < patchPlusOne; p++)
                Tile1(rows, col + p, ld, dZ + f, filters, result + (long)p * filters + f);
        }
    }

    /// <summary>c[8×32] = Σ_r a[r·lda + 0..8)ᵀ · b[r·ldb + 0..32).</summary>
    private static void Tile8(int rows, float* a, int lda, float* b, int ldb, float* c, int ldc)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default;
        for (int r = 0; r < rows; r++)
        {
            Vector512<float> b0 = Vector512.Load(b);
            Vector512<float> b1 = Vector512.Load(b + 16);
            Vector512<float> ai = Vector512.Create(a[0]);
            c00 = Vector512.FusedMultiplyAdd(ai, b0, c00); c01 = Vector512.FusedMultiplyAdd(ai, b1, c01);
            ai = Vector512.Create(a[1]);
            c10 = Vector512.FusedMultiplyAdd(ai, b0, c10); c11 = Vector512.FusedMultiplyAdd(ai, b1, c11);
            ai = Vector512.Create(a[2]);
            c20 = Vector512.FusedMultiplyAdd(ai, b0, c20); c21 = Vector512.FusedMultiplyAdd(ai, b1, c21);
            ai = Vector512.Create(a[3]);
            c30 = Vector512.FusedMultiplyAdd(ai, b0, c30); c31 = Vector512.FusedMultiplyAdd(ai, b1, c31);
            ai = Vector512.Create(a[4]);
            c40 = Vector512.FusedMultiplyAdd(ai, b0, c40); c41 = Vector512.FusedMultiplyAdd(ai, b1, c41);
            ai = Vector512.Create(a[5]);
            c50 = Vector512.FusedMultiplyAdd(ai, b0, c50); c51 = Vector512.FusedMultiplyAdd(ai, b1, c51);
            ai = Vector512.Create(a[6]);
            c60 = Vector512.FusedMultiplyAdd(ai, b0, c60); c61 = Vector512.FusedMultiplyAdd(ai, b1, c61);
            ai = Vector512.Create(a[7]);
            c70 = Vector512.FusedMultiplyAdd(ai, b0, c70); c71 = Vector512.FusedMultiplyAdd(ai, b1, c71);
            a += lda;
            b += ldb;
        }
        Store(c, c00, c01); c += ldc;
        Store(c, c10, c11); c += ldc;
        Store(c, c20, c21); c += ldc;
        Store(c, c30, c31); c += ldc;
        Store(c, c40, c41); c += ldc;
        Store(c, c50, c51); c += ldc;
        Store(c, c60, c61); c += ldc;
        Store(c, c70, c71);
    }

    /// <summary>c[4×32] = Σ_r a[r·lda + 0..4)ᵀ · b[r·ldb + 0..32): the leftover patch rows.</summary>
    private static void Tile4(int rows, float* a, int lda, float* b, int ldb, float* c, int ldc)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
        for (int r = 0; r < rows; r++)
        {
            Vector512<float> b0 = Vector512.Load(b);
            Vector512<float> b1 = Vector512.Load(b + 16);
            Vector512<float> ai = Vector512.Create(a[0]);
            c00 = Vector512.FusedMultiplyAdd(ai, b0, c00); c01 = Vector512.FusedMultiplyAdd(ai, b1, c01);
            ai = Vector512.Create(a[1]);
            c10 = Vector512.FusedMultiplyAdd(ai, b0, c10); c11 = Vector512.FusedMultiplyAdd(ai, b1, c11);
            ai = Vector512.Create(a[2]);
            c20 = Vector512.FusedMultiplyAdd(ai, b0, c20); c21 = Vector512.FusedMultiplyAdd(ai, b1, c21);
            ai = Vector512.Create(a[3]);
            c30 = Vector512.FusedMultiplyAdd(ai, b0, c30); c31 = Vector512.FusedMultiplyAdd(ai, b1, c31);
            a += lda;
            b += ldb;
        }
        Store(c, c00, c01); c += ldc;
        Store(c, c10, c11); c += ldc;
        Store(c, c20, c21); c += ldc;
        Store(c, c30, c31);
    }

    /// <summary>c[1×32] = Σ_r a[r·lda]·b[r·ldb + 0..32): one leftover patch row (often the ones column: db = Σ dZ).</summary>
    private static void Tile1(int rows, float* a, int lda, float* b, int ldb, float* c)
    {
        Vector512<float> c0 = default, c1 = default;
        for (int r = 0; r < rows; r++)
        {
            Vector512<float> ai = Vector512.Create(a[0]);
            c0 = Vector512.FusedMultiplyAdd(ai, Vector512.Load(b), c0);
            c1 = Vector512.FusedMultiplyAdd(ai, Vector512.Load(b + 16), c1);
            a += lda;
            b += ldb;
        }
        Store(c, c0, c1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector512<float> lo, Vector512<float> hi)
    {
        lo.Store(c);
        hi.Store(c + 16);
    }
}
