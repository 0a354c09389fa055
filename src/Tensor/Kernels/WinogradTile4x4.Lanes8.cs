using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NanoNet.Kernels;

/// <summary>
/// <see cref="WinogradTile4x4"/> on 8 lanes (AVX2 + FMA, no AVX-512): the same F(4×4, 3×3) transforms, the same operations
/// lane for lane, over 8 filters (<see cref="IWinogradTile.TransformFilter"/>, <see cref="IWinogradTile.TransformOutput"/>)
/// or 8 channels (<see cref="IWinogradTile.TransformInput"/>, its <c>vectorStride</c> then between groups of 8) a vector;
/// V, U and M keep the 16-lane layout (<see cref="WinogradConv"/>), so only the vectors narrow. The scratch holds 8-float
/// vectors. With 16 YMM registers the column pass's 36 values go through the scratch as on AVX-512.
/// </summary>
internal readonly unsafe struct WinogradTile4x4Lanes8 : IWinogradTile
{
    public static int Outputs => 4;

    public static int Lanes => 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TransformFilter(float* g, long tapStride, float* u, long elementStride)
    {
        // t = G·g: each column v of the kernel (its three rows) into six values t_av (18 vectors: some live on the stack).
        Filter(Vector256.Load(g), Vector256.Load(g + 3 * tapStride), Vector256.Load(g + 6 * tapStride),
            out Vector256<float> t00, out Vector256<float> t10, out Vector256<float> t20, out Vector256<float> t30, out Vector256<float> t40, out Vector256<float> t50);
        Filter(Vector256.Load(g + tapStride), Vector256.Load(g + 4 * tapStride), Vector256.Load(g + 7 * tapStride),
            out Vector256<float> t01, out Vector256<float> t11, out Vector256<float> t21, out Vector256<float> t31, out Vector256<float> t41, out Vector256<float> t51);
        Filter(Vector256.Load(g + 2 * tapStride), Vector256.Load(g + 5 * tapStride), Vector256.Load(g + 8 * tapStride),
            out Vector256<float> t02, out Vector256<float> t12, out Vector256<float> t22, out Vector256<float> t32, out Vector256<float> t42, out Vector256<float> t52);
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
    private static void FilterRow(Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, float* o, long stride)
    {
        Filter(x0, x1, x2, out Vector256<float> o0, out Vector256<float> o1, out Vector256<float> o2, out Vector256<float> o3,
            out Vector256<float> o4, out Vector256<float> o5);
        WinogradConv.StoreSix(o, stride, o0, o1, o2, o3, o4, o5);
    }

    /// <summary>G applied to three values: (¼x0, −(x0 + x1 + x2)/6, −(x0 − x1 + x2)/6, x0/24 + x1/12 + x2/6, x0/24 − x1/12 + x2/6, x2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Filter(Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, out Vector256<float> o0, out Vector256<float> o1,
        out Vector256<float> o2, out Vector256<float> o3, out Vector256<float> o4, out Vector256<float> o5)
    {
        Vector256<float> sixth = Vector256.Create(1f / 6), outer = x0 + x2;
        Vector256<float> q0 = x0 * Vector256.Create(1f / 24) + x2 * sixth, q1 = x1 * Vector256.Create(1f / 12);
        o0 = x0 * Vector256.Create(0.25f);
        o1 = -(outer + x1) * sixth;
        o2 = -(outer - x1) * sixth;
        o3 = q0 + q1;
        o4 = q0 - q1;
        o5 = x2;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TransformInput(float* d, int rowStride, int channels, float* v, long elementStride, long vectorStride, float* scratch)
    {
        const int lanes = 8;
        for (int c = 0; c < channels; c += lanes)
        {
            // Bᵀ·d: each column s of the block (its six rows) into scratch row a, column s (at (6a + s)·8).
            for (int s = 0; s < 6; s++)
            {
                float* p = d + c + s * channels;
                Input(Vector256.Load(p), Vector256.Load(p + rowStride), Vector256.Load(p + 2 * rowStride),
                    Vector256.Load(p + 3 * rowStride), Vector256.Load(p + 4 * rowStride), Vector256.Load(p + 5 * rowStride),
                    scratch + s * lanes, 6 * lanes);
            }
            // (Bᵀ·d)·B: each row a of that, over its columns; element (a, b) at v + (6a + b)·elementStride.
            for (int a = 0; a < 6; a++)
            {
                float* r = scratch + 6 * a * lanes;
                Input(Vector256.Load(r), Vector256.Load(r + lanes), Vector256.Load(r + 2 * lanes), Vector256.Load(r + 3 * lanes),
                    Vector256.Load(r + 4 * lanes), Vector256.Load(r + 5 * lanes), v + c / lanes * vectorStride + 6 * a * elementStride, elementStride);
            }
        }
    }

    /// <summary>Bᵀ applied to six values: the six results stored <paramref name="stride"/> floats apart from <paramref name="o"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Input(Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float> x3,
        Vector256<float> x4, Vector256<float> x5, float* o, long stride)
    {
        Vector256<float> four = Vector256.Create(4f), minusFour = Vector256.Create(-4f), minusFive = Vector256.Create(-5f);
        Vector256<float> even = Vector256.FusedMultiplyAdd(minusFour, x2, x4); // x4 − 4·x2
        Vector256<float> odd = Vector256.FusedMultiplyAdd(minusFour, x1, x3);  // x3 − 4·x1
        Vector256<float> evenHalf = x4 - x2, oddHalf = (x3 - x1) * Vector256.Create(2f);
        Vector256.FusedMultiplyAdd(four, x0, Vector256.FusedMultiplyAdd(minusFive, x2, x4)).Store(o); // 4·x0 − 5·x2 + x4
        (even + odd).Store(o + stride);
        (even - odd).Store(o + 2 * stride);
        (evenHalf + oddHalf).Store(o + 3 * stride);
        (evenHalf - oddHalf).Store(o + 4 * stride);
        Vector256.FusedMultiplyAdd(four, x1, Vector256.FusedMultiplyAdd(minusFive, x3, x5)).Store(o + 5 * stride); // 4·x1 − 5·x3 + x5
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TransformOutput(float* m, long elementStride, float* y, long rowStride, long columnStride, float* scratch)
    {
        const int lanes = 8;
        // M·A: each row a of M, over its six columns, into scratch row a, column j (at (4a + j)·8).
        for (int a = 0; a < 6; a++)
        {
            float* row = m + 6 * a * elementStride;
            Output(Vector256.Load(row), Vector256.Load(row + elementStride), Vector256.Load(row + 2 * elementStride),
                Vector256.Load(row + 3 * elementStride), Vector256.Load(row + 4 * elementStride), Vector256.Load(row + 5 * elementStride),
                scratch + 4 * a * lanes, lanes);
        }
        // Aᵀ·(M·A): each column j of that, over its six rows; output (i, j) at y + i·rowStride + j·columnStride.
        for (int j = 0; j < 4; j++)
        {
            float* column = scratch + j * lanes;
            Output(Vector256.Load(column), Vector256.Load(column + 4 * lanes), Vector256.Load(column + 8 * lanes),
                Vector256.Load(column + 12 * lanes), Vector256.Load(column + 16 * lanes), Vector256.Load(column + 20 * lanes),
                y + j * columnStride, rowStride);
        }
    }

    /// <summary>Aᵀ applied to six values: the four results stored <paramref name="stride"/> floats apart from <paramref name="o"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Output(Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float> x3,
        Vector256<float> x4, Vector256<float> x5, float* o, long stride)
    {
        Vector256<float> sum12 = x1 + x2, difference12 = x1 - x2, sum34 = x3 + x4, difference34 = x3 - x4;
        (x0 + sum12 + sum34).Store(o);
        Vector256.FusedMultiplyAdd(Vector256.Create(2f), difference34, difference12).Store(o + stride);
        Vector256.FusedMultiplyAdd(Vector256.Create(4f), sum34, sum12).Store(o + 2 * stride);
        (Vector256.FusedMultiplyAdd(Vector256.Create(8f), difference34, difference12) + x5).Store(o + 3 * stride);
    }
}
