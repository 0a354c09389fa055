using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NanoNet.Kernels;

/// <summary>
/// <see cref="WinogradTile2x2"/> on 8 lanes (AVX2 + FMA, no AVX-512): the same F(2×2, 3×3) transforms lane for lane, over
/// 8 filters or 8 channels a vector (see <see cref="WinogradTile4x4Lanes8"/>); V, U and M keep the 16-lane layout.
/// </summary>
internal readonly unsafe struct WinogradTile2x2Lanes8 : IWinogradTile
{
    public static int Outputs => 2;

    public static int Lanes => 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TransformFilter(float* g, long tapStride, float* u, long elementStride)
    {
        // t = G·g: each column v of the kernel (top, middle, bottom) into (top, ½(top + middle + bottom),
        // ½(top − middle + bottom), bottom); then U = t·Gᵀ, each row of t the same way into elements 4a..4a + 3.
        Vector256<float> half = Vector256.Create(0.5f);
        Vector256<float> t00 = Vector256.Load(g), t01 = Vector256.Load(g + tapStride), t02 = Vector256.Load(g + 2 * tapStride);
        Vector256<float> t30 = Vector256.Load(g + 6 * tapStride), t31 = Vector256.Load(g + 7 * tapStride), t32 = Vector256.Load(g + 8 * tapStride);
        Vector256<float> m0 = Vector256.Load(g + 3 * tapStride), m1 = Vector256.Load(g + 4 * tapStride), m2 = Vector256.Load(g + 5 * tapStride);
        Vector256<float> t10 = half * (t00 + m0 + t30), t11 = half * (t01 + m1 + t31), t12 = half * (t02 + m2 + t32);
        Vector256<float> t20 = half * (t00 - m0 + t30), t21 = half * (t01 - m1 + t31), t22 = half * (t02 - m2 + t32);
        FilterRow(t00, t01, t02, u, elementStride, half);
        FilterRow(t10, t11, t12, u + 4 * elementStride, elementStride, half);
        FilterRow(t20, t21, t22, u + 8 * elementStride, elementStride, half);
        FilterRow(t30, t31, t32, u + 12 * elementStride, elementStride, half);
    }

    /// <summary>G applied to one row (left, centre, right), the four results stored <paramref name="stride"/> floats apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FilterRow(Vector256<float> left, Vector256<float> centre, Vector256<float> right, float* o, long stride, Vector256<float> half)
    {
        left.Store(o);
        (half * (left + centre + right)).Store(o + stride);
        (half * (left - centre + right)).Store(o + 2 * stride);
        right.Store(o + 3 * stride);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TransformInput(float* d, int rowStride, int channels, float* v, long elementStride, long vectorStride, float* scratch)
    {
        for (int c = 0; c < channels; c += 8)
        {
            // Bᵀ·d: each column s of the block, over its rows r: (d0 − d2, d1 + d2, d2 − d1, d1 − d3).
            float* p = d + c;
            (Vector256<float> t00, Vector256<float> t10, Vector256<float> t20, Vector256<float> t30) = Column(p, rowStride);
            (Vector256<float> t01, Vector256<float> t11, Vector256<float> t21, Vector256<float> t31) = Column(p + channels, rowStride);
            (Vector256<float> t02, Vector256<float> t12, Vector256<float> t22, Vector256<float> t32) = Column(p + 2 * channels, rowStride);
            (Vector256<float> t03, Vector256<float> t13, Vector256<float> t23, Vector256<float> t33) = Column(p + 3 * channels, rowStride);
            // (Bᵀ·d)·B: each row a, over its columns s, the same combination; element (a, b) at v + (4a + b)·elementStride.
            float* o = v + c / 8 * vectorStride;
            Row(o, elementStride, t00, t01, t02, t03);
            Row(o + 4 * elementStride, elementStride, t10, t11, t12, t13);
            Row(o + 8 * elementStride, elementStride, t20, t21, t22, t23);
            Row(o + 12 * elementStride, elementStride, t30, t31, t32, t33);
        }

        // One column of the block (its four rows, rowStride apart) through Bᵀ.
        static (Vector256<float>, Vector256<float>, Vector256<float>, Vector256<float>) Column(float* p, int rowStride)
        {
            Vector256<float> r0 = Vector256.Load(p), r1 = Vector256.Load(p + rowStride), r2 = Vector256.Load(p + 2 * rowStride),
                r3 = Vector256.Load(p + 3 * rowStride);
            return (r0 - r2, r1 + r2, r2 - r1, r1 - r3);
        }

        static void Row(float* o, long stride, Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float> x3)
        {
            (x0 - x2).Store(o);
            (x1 + x2).Store(o + stride);
            (x2 - x1).Store(o + 2 * stride);
            (x1 - x3).Store(o + 3 * stride);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TransformOutput(float* m, long elementStride, float* y, long rowStride, long columnStride, float* scratch)
    {
        // M·A: each row a of M, over its columns b: (m0 + m1 + m2, m1 − m2 − m3).
        (Vector256<float> s00, Vector256<float> s01) = Combine(m, elementStride);
        (Vector256<float> s10, Vector256<float> s11) = Combine(m + 4 * elementStride, elementStride);
        (Vector256<float> s20, Vector256<float> s21) = Combine(m + 8 * elementStride, elementStride);
        (Vector256<float> s30, Vector256<float> s31) = Combine(m + 12 * elementStride, elementStride);
        // Aᵀ·(M·A): the same over the rows.
        (s00 + s10 + s20).Store(y);
        (s01 + s11 + s21).Store(y + columnStride);
        (s10 - s20 - s30).Store(y + rowStride);
        (s11 - s21 - s31).Store(y + rowStride + columnStride);

        static (Vector256<float>, Vector256<float>) Combine(float* row, long stride)
        {
            Vector256<float> m0 = Vector256.Load(row), m1 = Vector256.Load(row + stride), m2 = Vector256.Load(row + 2 * stride),
                m3 = Vector256.Load(row + 3 * stride);
            return (m0 + m1 + m2, m1 - m2 - m3);
        }
    }
}
