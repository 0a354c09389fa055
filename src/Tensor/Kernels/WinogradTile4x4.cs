using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NanoNet.Kernels;

/// <summary>
/// F(4×4, 3×3): each 4×4 block of outputs from its 6×6 input block with 36 multiply-adds per (channel, filter) instead
/// of the direct method's 144 (4x fewer; F(2×2)'s 2.25x), for larger transforms: the interpolation points 0, ±1, ±2 and
/// ∞ (Lavin and Gray, 2016) put 4, 5 and 8 in Bᵀ and Aᵀ and sixths in G.
/// </summary>
/// <remarks>
/// <code>
/// G  = [[¼, 0, 0], [−⅙, −⅙, −⅙], [−⅙, ⅙, −⅙], [1/24, 1/12, ⅙], [1/24, −1/12, ⅙], [0, 0, 1]]
/// Bᵀ = [[4, 0, −5, 0, 1, 0], [0, −4, −4, 1, 1, 0], [0, 4, −4, −1, 1, 0],
///       [0, −2, −1, 2, 1, 0], [0, 2, −1, −2, 1, 0], [0, 4, 0, −5, 0, 1]]
/// Aᵀ = [[1, 1, 1, 1, 1, 0], [0, 1, −1, 2, −2, 0], [0, 1, 1, 4, 4, 0], [0, 1, −1, 8, −8, 1]]
/// </code>
/// Bᵀ and Aᵀ are applied in factored form (shared sums such as x4 − 4·x2 computed once), first to the columns of the
/// block, then to the rows of the result; the 36 intermediate vectors do not fit in the 32 registers, so the first
/// pass writes them to the scratch (in L1). Numerics: the larger coefficients cost about one more decimal digit than
/// F(2×2): outputs within about 1e−5 of the sum of |terms| (the tests' tolerance), still far inside a float's training
/// noise.
/// </remarks>
internal readonly unsafe struct WinogradTile4x4 : IWinogradTile
{
    public static int Outputs => 4;

    public static int Lanes => 16;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TransformFilter(float* g, long tapStride, float* u, long elementStride)
    {
        // t = G·g: each column v of the kernel (its three rows) into six values t_av, kept in registers (18 of the 32).
        Filter(Vector512.Load(g), Vector512.Load(g + 3 * tapStride), Vector512.Load(g + 6 * tapStride),
            out Vector512<float> t00, out Vector512<float> t10, out Vector512<float> t20, out Vector512<float> t30, out Vector512<float> t40, out Vector512<float> t50);
        Filter(Vector512.Load(g + tapStride), Vector512.Load(g + 4 * tapStride), Vector512.Load(g + 7 * tapStride),
            out Vector512<float> t01, out Vector512<float> t11, out Vector512<float> t21, out Vector512<float> t31, out Vector512<float> t41, out Vector512<float> t51);
        Filter(Vector512.Load(g + 2 * tapStride), Vector512.Load(g + 5 * tapStride), Vector512.Load(g + 8 * tapStride),
            out Vector512<float> t02, out Vector512<float> t12, out Vector512<float> t22, out Vector512<float> t32, out Vector512<float> t42, out Vector512<float> t52);
        // U = t·Gᵀ: each row a of t the same way, into elements 6a..6a + 5.
        FilterRow(t00, t01, t02, u, elementStride);
        FilterRow(t10, t11, t12, u + 6 * elementStride, elementStride);
        FilterRow(t20, t21, t22, u + 12 * elementStride, elementStride);
        FilterRow(t30, t31, t32, u + 18 * elementStride, elementStride);
        FilterRow(t40, t41, t42, u + 24 * elementStride, elementStride);
        FilterRow(t50, t51, t52, u + 30 * elementStride, elementStride);
    }

    /// <summary>G applied to three values, stored <paramref name="stride"/> floats apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FilterRow(Vector512<float> x0, Vector512<float> x1, Vector512<float> x2, float* o, long stride)
    {
        Filter(x0, x1, x2, out Vector512<float> o0, out Vector512<float> o1, out Vector512<float> o2, out Vector512<float> o3,
            out Vector512<float> o4, out Vector512<float> o5);
        WinogradConv.StoreSix(o, stride, o0, o1, o2, o3, o4, o5);
    }

    /// <summary>G applied to three values: (¼x0, −(x0 + x1 + x2)/6, −(x0 − x1 + x2)/6, x0/24 + x1/12 + x2/6, x0/24 − x1/12 + x2/6, x2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Filter(Vector512<float> x0, Vector512<float> x1, Vector512<float> x2, out Vector512<float> o0, out Vector512<float> o1,
        out Vector512<float> o2, out Vector512<float> o3, out Vector512<float> o4, out Vector512<float> o5)
    {
        Vector512<float> sixth = Vector512.Create(1f / 6), outer = x0 + x2;
        Vector512<float> q0 = x0 * Vector512.Create(1f / 24) + x2 * sixth, q1 = x1 * Vector512.Create(1f / 12);
        o0 = x0 * Vector512.Create(0.25f);
        o1 = -(outer + x1) * sixth;
        o2 = -(outer - x1) * sixth;
        o3 = q0 + q1;
        o4 = q0 - q1;
        o5 = x2;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TransformInput(float* d, int rowStride, int channels, float* v, long elementStride, long vectorStride, float* scratch)
    {
        const int lanes = WinogradConv.ChannelLanes;
        for (int c = 0; c < channels; c += lanes)
        {
            // Bᵀ·d: each column s of the block (its six rows) into scratch row a, column s (at (6a + s)·16).
            for (int s = 0; s < 6; s++)
            {
                float* p = d + c + s * channels;
                Input(Vector512.Load(p), Vector512.Load(p + rowStride), Vector512.Load(p + 2 * rowStride),
                    Vector512.Load(p + 3 * rowStride), Vector512.Load(p + 4 * rowStride), Vector512.Load(p + 5 * rowStride),
                    scratch + s * lanes, 6 * lanes);
            }
            // (Bᵀ·d)·B: each row a of that, over its columns; element (a, b) at v + (6a + b)·elementStride.
            for (int a = 0; a < 6; a++)
            {
                float* r = scratch + 6 * a * lanes;
                Input(Vector512.Load(r), Vector512.Load(r + lanes), Vector512.Load(r + 2 * lanes), Vector512.Load(r + 3 * lanes),
                    Vector512.Load(r + 4 * lanes), Vector512.Load(r + 5 * lanes), v + c / lanes * vectorStride + 6 * a * elementStride, elementStride);
            }
        }
    }

    /// <summary>Bᵀ applied to six values: the six results stored <paramref name="stride"/> floats apart from <paramref name="o"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Input(Vector512<float> x0, Vector512<float> x1, Vector512<float> x2, Vector512<float> x3,
        Vector512<float> x4, Vector512<float> x5, float* o, long stride)
    {
        Vector512<float> four = Vector512.Create(4f), minusFour = Vector512.Create(-4f), minusFive = Vector512.Create(-5f);
        Vector512<float> even = Vector512.FusedMultiplyAdd(minusFour, x2, x4); // x4 − 4·x2
        Vector512<float> odd = Vector512.FusedMultiplyAdd(minusFour, x1, x3);  // x3 − 4·x1
        Vector512<float> evenHalf = x4 - x2, oddHalf = (x3 - x1) * Vector512.Create(2f);
        Vector512.FusedMultiplyAdd(four, x0, Vector512.FusedMultiplyAdd(minusFive, x2, x4)).Store(o); // 4·x0 − 5·x2 + x4
        (even + odd).Store(o + stride);
        (even - odd).Store(o + 2 * stride);
        (evenHalf + oddHalf).Store(o + 3 * stride);
        (evenHalf - oddHalf).Store(o + 4 * stride);
        Vector512.FusedMultiplyAdd(four, x1, Vector512.FusedMultiplyAdd(minusFive, x3, x5)).Store(o + 5 * stride); // 4·x1 − 5·x3 + x5
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TransformOutput(float* m, long elementStride, float* y, long rowStride, long columnStride, float* scratch)
    {
        const int lanes = 16;
        // M·A: each row a of M, over its six columns, into scratch row a, column j (at (4a + j)·16).
        for (int a = 0; a < 6; a++)
        {
            float* row = m + 6 * a * elementStride;
            Output(Vector512.Load(row), Vector512.Load(row + elementStride), Vector512.Load(row + 2 * elementStride),
                Vector512.Load(row + 3 * elementStride), Vector512.Load(row + 4 * elementStride), Vector512.Load(row + 5 * elementStride),
                scratch + 4 * a * lanes, lanes);
        }
        // Aᵀ·(M·A): each column j of that, over its six rows; output (i, j) at y + i·rowStride + j·columnStride.
        for (int j = 0; j < 4; j++)
        {
            float* column = scratch + j * lanes;
            Output(Vector512.Load(column), Vector512.Load(column + 4 * lanes), Vector512.Load(column + 8 * lanes),
                Vector512.Load(column + 12 * lanes), Vector512.Load(column + 16 * lanes), Vector512.Load(column + 20 * lanes),
                y + j * columnStride, rowStride);
        }
    }

    /// <summary>Aᵀ applied to six values: the four results stored <paramref name="stride"/> floats apart from <paramref name="o"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Output(Vector512<float> x0, Vector512<float> x1, Vector512<float> x2, Vector512<float> x3,
        Vector512<float> x4, Vector512<float> x5, float* o, long stride)
    {
        Vector512<float> sum12 = x1 + x2, difference12 = x1 - x2, sum34 = x3 + x4, difference34 = x3 - x4;
        (x0 + sum12 + sum34).Store(o);
        Vector512.FusedMultiplyAdd(Vector512.Create(2f), difference34, difference12).Store(o + stride);
        Vector512.FusedMultiplyAdd(Vector512.Create(4f), sum34, sum12).Store(o + 2 * stride);
        (Vector512.FusedMultiplyAdd(Vector512.Create(8f), difference34, difference12) + x5).Store(o + 3 * stride);
    }
}
