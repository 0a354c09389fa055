using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NanoNet.Kernels;

/// <summary>
/// <see cref="GemmRows"/> on AVX2 + FMA (no AVX-512): fewer rows than the 6×16 micro-tile, a row at a time against B
/// where it lies.
/// </summary>
/// <remarks>
/// <para>Shape legend: C is M×N (M &lt; 6), op(A) is M×K, B is K×N row-major (ldb) or packed for the 6×16 kernel (slabs of
/// KC rows, each of N′/16 panels of kc×16, N′ = N rounded up to 16). A row of C is cut into 16-column strips (two
/// Vector256), four strips (8 accumulators) at a time, and the last N mod 16 columns in two masked vectors.</para>
/// <para>Without it one row went through the packed path: B packed per call (a whole weight matrix copied to use each
/// element once) and a 6-row tile with 5 rows of zeros.</para>
/// <para>Same bits as the packed path: each element of C sums each KC slab from zero, one FMA per p in order, as
/// <see cref="GemmMicroKernels"/>' 6×16 kernel does, then adds it to C when accumulating or past the first slab.</para>
/// </remarks>
internal static unsafe partial class GemmRows
{
    /// <summary>Columns [<paramref name="first"/>, <paramref name="end"/>) of C (<paramref name="first"/> a multiple of 16).</summary>
    private static void MultiplyColumns256(bool transA, int m, int n, int first, int end, int k, float* a, int lda, float* b, int ldb,
        float* packed, float* c, int ldc, bool accumulate)
    {
        int paddedN = PackedMatrix.PaddedColumns(n, 16);
        int stride = packed != null ? 16 : ldb;
        for (int pc = 0; pc < k; pc += Gemm.KC)
        {
            int kc = Math.Min(Gemm.KC, k - pc);
            bool add = accumulate || pc > 0;
            // Strip j of the slab: where its row p starts is strip + p·stride.
            float* Strip(int j) => packed != null ? packed + (long)pc * paddedN + (long)j * kc : b + (long)pc * ldb + j;
            for (int i = 0; i < m; i++)
            {
                float* aRow = transA ? a + (long)pc * lda + i : a + (long)i * lda + pc;
                int aStride = transA ? lda : 1;
                float* cRow = c + (long)i * ldc;
                int j = first;
                for (; j + 64 <= end; j += 64)
                    Row4x16(kc, aRow, aStride, Strip(j), Strip(j + 16), Strip(j + 32), Strip(j + 48), stride, cRow + j, add);
                for (; j + 32 <= end; j += 32)
                    Row4x16(kc, aRow, aStride, Strip(j), Strip(j + 16), null, null, stride, cRow + j, add);
                for (; j + 16 <= end; j += 16)
                    Row4x16(kc, aRow, aStride, Strip(j), null, null, null, stride, cRow + j, add);
                if (j < end) // the last end − j < 16 columns, in masked vectors
                    RowTail16(kc, aRow, aStride, Strip(j), stride, cRow + j, end - j, add);
            }
        }
    }

    /// <summary>One row times one, two or four 16-column strips of B (null = absent: b1, or b2 and b3): 2 accumulators per strip.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Row4x16(int kc, float* a, int aStride, float* b0, float* b1, float* b2, float* b3, int stride, float* c, bool add)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
        if (b1 == null)
        {
            for (int p = 0; p < kc; p++, b0 += stride)
            {
                Vector256<float> ai = Vector256.Create(a[p * aStride]);
                c00 = Vector256.FusedMultiplyAdd(ai, Vector256.Load(b0), c00);
                c01 = Vector256.FusedMultiplyAdd(ai, Vector256.Load(b0 + 8), c01);
            }
            Store16(c, c00, c01, add);
            return;
        }
        if (b2 == null)
        {
            for (int p = 0; p < kc; p++, b0 += stride, b1 += stride)
            {
                Vector256<float> ai = Vector256.Create(a[p * aStride]);
                c00 = Vector256.FusedMultiplyAdd(ai, Vector256.Load(b0), c00);
                c01 = Vector256.FusedMultiplyAdd(ai, Vector256.Load(b0 + 8), c01);
                c10 = Vector256.FusedMultiplyAdd(ai, Vector256.Load(b1), c10);
                c11 = Vector256.FusedMultiplyAdd(ai, Vector256.Load(b1 + 8), c11);
            }
            Store16(c, c00, c01, add);
            Store16(c + 16, c10, c11, add);
            return;
        }
        for (int p = 0; p < kc; p++, b0 += stride, b1 += stride, b2 += stride, b3 += stride)
        {
            Vector256<float> ai = Vector256.Create(a[p * aStride]);
            c00 = Vector256.FusedMultiplyAdd(ai, Vector256.Load(b0), c00);
            c01 = Vector256.FusedMultiplyAdd(ai, Vector256.Load(b0 + 8), c01);
            c10 = Vector256.FusedMultiplyAdd(ai, Vector256.Load(b1), c10);
            c11 = Vector256.FusedMultiplyAdd(ai, Vector256.Load(b1 + 8), c11);
            c20 = Vector256.FusedMultiplyAdd(ai, Vector256.Load(b2), c20);
            c21 = Vector256.FusedMultiplyAdd(ai, Vector256.Load(b2 + 8), c21);
            c30 = Vector256.FusedMultiplyAdd(ai, Vector256.Load(b3), c30);
            c31 = Vector256.FusedMultiplyAdd(ai, Vector256.Load(b3 + 8), c31);
        }
        Store16(c, c00, c01, add);
        Store16(c + 16, c10, c11, add);
        Store16(c + 32, c20, c21, add);
        Store16(c + 48, c30, c31, add);
    }

    /// <summary>
    /// One row times the last <paramref name="columns"/> (&lt; 16) columns of B: two accumulators whose lanes from
    /// <paramref name="columns"/> on are masked off in every load of B (vmaskmovps: nothing past the row is read) and
    /// every load and store of C.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowTail16(int kc, float* a, int aStride, float* b, int stride, float* c, int columns, bool add)
    {
        Vector256<float> mask0 = LanesBelow8(columns), mask1 = LanesBelow8(columns - 8);
        Vector256<float> c0 = default, c1 = default;
        for (int p = 0; p < kc; p++, b += stride)
        {
            Vector256<float> ai = Vector256.Create(a[p * aStride]);
            c0 = Vector256.FusedMultiplyAdd(ai, Avx.MaskLoad(b, mask0), c0);
            c1 = Vector256.FusedMultiplyAdd(ai, Avx.MaskLoad(b + 8, mask1), c1);
        }
        if (add)
        {
            c0 += Avx.MaskLoad(c, mask0);
            c1 += Avx.MaskLoad(c + 8, mask1);
        }
        Avx.MaskStore(c, mask0, c0);
        Avx.MaskStore(c + 8, mask1, c1);
    }

    /// <summary>All bits set in the lanes below <paramref name="count"/> (none when it is 0 or less).</summary>
    private static Vector256<float> LanesBelow8(int count) =>
        Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(count)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store16(float* c, Vector256<float> lo, Vector256<float> hi, bool add)
    {
        if (add)
        {
            lo += Vector256.Load(c);
            hi += Vector256.Load(c + 8);
        }
        lo.Store(c);
        hi.Store(c + 8);
    }
}
