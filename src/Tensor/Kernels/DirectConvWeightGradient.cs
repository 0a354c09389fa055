using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NanoNet.Kernels;

/// <summary>
/// The direct convolution's weight gradient: [dW; db] = Σ over a chunk's output pixels of patchᵀ · dZ, with each patch
/// read in place from the images (see <see cref="DirectConv"/>) instead of from a rebuilt im2col matrix.
/// </summary>
/// <remarks>
/// <para>Shape legend: the source images are Hp×Wp×C (<see cref="DirectConv.Source"/>); dZ is images×OH×OW×F (the
/// masked output gradient, NHWC); run = KW·C; the result [dW; db] is (P + 1)×F, row-major, P = KH·KW·C: dW is the
/// (KH, KW, C, F) kernel read as P×F, db its last row.</para>
/// <para>The tiles are <see cref="ConvWeightGradient"/>'s, with another walk over their A operand. For kernel row kh,
/// rows p = kh·run + k (k in 0..run) of dW need, at output pixel (oh, ow), the values x[oh·sh + kh, ow·sw, k]: the run
/// of KW·C floats starting there. So a tile holds a block of dW rows × 32 filters in registers and walks the pixels in
/// order (image, oh, ow), stepping sw·C floats along an image row and reading a dZ row (two vectors) per pixel. A
/// 3×3 RGB run of 9 is one tile of 18 accumulators (plus two dZ vectors and a broadcast: 21 of the 32 registers), so
/// no patch row is left over for a 1-row tile whose two accumulators would wait on the FMA latency. Other runs are
/// cut into 8-, 4- and 1-row tiles, and db = Σ dZ is a 1-row tile over a constant 1.</para>
/// <para>Each element is a plain chain of fused multiply-adds over the pixels in order, from zero: the same chain as the
/// im2col path's (<see cref="ConvWeightGradient"/> over col), so the results agree bit for bit.</para>
/// </remarks>
internal static unsafe class DirectConvWeightGradient
{
    /// <summary>result[(P+1)×F] = Σ over the chunk's pixels of [patch; 1]ᵀ · dZ (overwrites the result).</summary>
    public static void Compute(DirectConv.Source x, int images, in ConvGeometry g, float* dZ, int filters, float* result)
    {
        int run = g.KernelWidth * g.Channels, patch = g.PatchSize;
        var walk = new Walk(images, g.OutputHeight, g.OutputWidth, x.ImageStride, g.StrideHeight * x.RowStride, g.StrideWidth * g.Channels);
        float one = 1f;
        var constant = new Walk(images, g.OutputHeight, g.OutputWidth, 0, 0, 0);
        for (int f = 0; f < filters; f += 32)
        {
            for (int kh = 0; kh < g.KernelHeight; kh++)
            {
                float* a = x.Images + (long)kh * x.RowStride, c = result + (long)kh * run * filters + f;
                int k = 0;
                if (run == 9)
                {
                    Tile9(walk, a, dZ + f, filters, c, filters);
                    continue;
                }
                for (; k + 8 <= run; k += 8)
                    Tile8(walk, a + k, dZ + f, filters, c + (long)k * filters, filters);
                if (k + 4 <= run)
                {
                    Tile4(walk, a + k, dZ + f, filters, c + (long)k * filters, filters);
                    k += 4;
                }
                for (; k < run; k++)
                    Tile1(walk, a + k, dZ + f, filters, c + (long)k * filters, filters);
            }
            Tile1(constant, &one, dZ + f, filters, result + (long)patch * filters + f, filters);
        }
    }

    /// <summary>
    /// The pixels a tile visits, in order: image i (ImageStride floats apart), output row r (RowStep = sh·row floats
    /// apart), pixel q (PixelStep = sw·C floats apart).
    /// </summary>
    private readonly record struct Walk(int Images, int Rows, int Pixels, long ImageStride, long RowStep, int PixelStep);

    /// <summary>c[9×32] = Σ over the walk of a[0..9)ᵀ · dZ[0..32): a whole 3×3 RGB kernel row (18 accumulators, 21 registers).</summary>
    private static void Tile9(in Walk walk, float* a, float* dZ, int ldz, float* c, int ldc)
    {
        Vector512<float> c00 = default, c01 = default;
        Vector512<float> c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default;
        Vector512<float> c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default;
        Vector512<float> c70 = default, c71 = default;
        Vector512<float> c80 = default, c81 = default;
        int images = walk.Images, rows = walk.Rows, pixels = walk.Pixels, step = walk.PixelStep;
        for (int i = 0; i < images; i++)
        {
            for (int r = 0; r < rows; r++)
            {
                float* p = a + i * walk.ImageStride + r * walk.RowStep;
                for (int q = 0; q < pixels; q++, p += step, dZ += ldz)
                {
                    Vector512<float> b0 = Vector512.Load(dZ);
                    Vector512<float> b1 = Vector512.Load(dZ + 16);
                    Vector512<float> ai = Vector512.Create(p[0]);
                    c00 = Vector512.FusedMultiplyAdd(ai, b0, c00); c01 = Vector512.FusedMultiplyAdd(ai, b1, c01);
                    ai = Vector512.Create(p[1]);
                    c10 = Vector512.FusedMultiplyAdd(ai, b0, c10); c11 = Vector512.FusedMultiplyAdd(ai, b1, c11);
                    ai = Vector512.Create(p[2]);
                    c20 = Vector512.FusedMultiplyAdd(ai, b0, c20); c21 = Vector512.FusedMultiplyAdd(ai, b1, c21);
                    ai = Vector512.Create(p[3]);
                    c30 = Vector512.FusedMultiplyAdd(ai, b0, c30); c31 = Vector512.FusedMultiplyAdd(ai, b1, c31);
                    ai = Vector512.Create(p[4]);
                    c40 = Vector512.FusedMultiplyAdd(ai, b0, c40); c41 = Vector512.FusedMultiplyAdd(ai, b1, c41);
                    ai = Vector512.Create(p[5]);
                    c50 = Vector512.FusedMultiplyAdd(ai, b0, c50); c51 = Vector512.FusedMultiplyAdd(ai, b1, c51);
                    ai = Vector512.Create(p[6]);
                    c60 = Vector512.FusedMultiplyAdd(ai, b0, c60); c61 = Vector512.FusedMultiplyAdd(ai, b1, c61);
                    ai = Vector512.Create(p[7]);
                    c70 = Vector512.FusedMultiplyAdd(ai, b0, c70); c71 = Vector512.FusedMultiplyAdd(ai, b1, c71);
                    ai = Vector512.Create(p[8]);
                    c80 = Vector512.FusedMultiplyAdd(ai, b0, c80); c81 = Vector512.FusedMultiplyAdd(ai, b1, c81);
                }
            }
        }
        Store(c, c00, c01); c += ldc;
        Store(c, c10, c11); c += ldc;
        Store(c, c20, c21); c += ldc;
        Store(c, c30, c31); c += ldc;
        Store(c, c40, c41); c += ldc;
        Store(c, c50, c51); c += ldc;
        Store(c, c60, c61); c += ldc;
        Store(c, c70, c71); c += ldc;
        Store(c, c80, c81);
    }

    /// <summary>c[8×32] = Σ over the walk of a[0..8)ᵀ · dZ[0..32).</summary>
    private static void Tile8(in Walk walk, float* a, float* dZ, int ldz, float* c, int ldc)
    {
        Vector512<float> c00 = default, c01 = default;
        Vector512<float> c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default;
        Vector512<float> c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default;
        Vector512<float> c70 = default, c71 = default;
        int images = walk.Images, rows = walk.Rows, pixels = walk.Pixels, step = walk.PixelStep;
        for (int i = 0; i < images; i++)
        {
            for (int r = 0; r < rows; r++)
            {
                float* p = a + i * walk.ImageStride + r * walk.RowStep;
                for (int q = 0; q < pixels; q++, p += step, dZ += ldz)
                {
                    Vector512<float> b0 = Vector512.Load(dZ);
                    Vector512<float> b1 = Vector512.Load(dZ + 16);
                    Vector512<float> ai = Vector512.Create(p[0]);
                    c00 = Vector512.FusedMultiplyAdd(ai, b0, c00); c01 = Vector512.FusedMultiplyAdd(ai, b1, c01);
                    ai = Vector512.Create(p[1]);
                    c10 = Vector512.FusedMultiplyAdd(ai, b0, c10); c11 = Vector512.FusedMultiplyAdd(ai, b1, c11);
                    ai = Vector512.Create(p[2]);
                    c20 = Vector512.FusedMultiplyAdd(ai, b0, c20); c21 = Vector512.FusedMultiplyAdd(ai, b1, c21);
                    ai = Vector512.Create(p[3]);
                    c30 = Vector512.FusedMultiplyAdd(ai, b0, c30); c31 = Vector512.FusedMultiplyAdd(ai, b1, c31);
                    ai = Vector512.Create(p[4]);
                    c40 = Vector512.FusedMultiplyAdd(ai, b0, c40); c41 = Vector512.FusedMultiplyAdd(ai, b1, c41);
                    ai = Vector512.Create(p[5]);
                    c50 = Vector512.FusedMultiplyAdd(ai, b0, c50); c51 = Vector512.FusedMultiplyAdd(ai, b1, c51);
                    ai = Vector512.Create(p[6]);
                    c60 = Vector512.FusedMultiplyAdd(ai, b0, c60); c61 = Vector512.FusedMultiplyAdd(ai, b1, c61);
                    ai = Vector512.Create(p[7]);
                    c70 = Vector512.FusedMultiplyAdd(ai, b0, c70); c71 = Vector512.FusedMultiplyAdd(ai, b1, c71);
                }
            }
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

    /// <summary>c[4×32] = Σ over the walk of a[0..4)ᵀ · dZ[0..32).</summary>
    private static void Tile4(in Walk walk, float* a, float* dZ, int ldz, float* c, int ldc)
    {
        Vector512<float> c00 = default, c01 = default;
        Vector512<float> c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default;
        int images = walk.Images, rows = walk.Rows, pixels = walk.Pixels, step = walk.PixelStep;
        for (int i = 0; i < images; i++)
        {
            for (int r = 0; r < rows; r++)
            {
                float* p = a + i * walk.ImageStride + r * walk.RowStep;
                for (int q = 0; q < pixels; q++, p += step, dZ += ldz)
                {
                    Vector512<float> b0 = Vector512.Load(dZ);
                    Vector512<float> b1 = Vector512.Load(dZ + 16);
                    Vector512<float> ai = Vector512.Create(p[0]);
                    c00 = Vector512.FusedMultiplyAdd(ai, b0, c00); c01 = Vector512.FusedMultiplyAdd(ai, b1, c01);
                    ai = Vector512.Create(p[1]);
                    c10 = Vector512.FusedMultiplyAdd(ai, b0, c10); c11 = Vector512.FusedMultiplyAdd(ai, b1, c11);
                    ai = Vector512.Create(p[2]);
                    c20 = Vector512.FusedMultiplyAdd(ai, b0, c20); c21 = Vector512.FusedMultiplyAdd(ai, b1, c21);
                    ai = Vector512.Create(p[3]);
                    c30 = Vector512.FusedMultiplyAdd(ai, b0, c30); c31 = Vector512.FusedMultiplyAdd(ai, b1, c31);
                }
            }
        }
        Store(c, c00, c01); c += ldc;
        Store(c, c10, c11); c += ldc;
        Store(c, c20, c21); c += ldc;
        Store(c, c30, c31);
    }

    /// <summary>c[1×32] = Σ over the walk of a[0] · dZ[0..32) (with a walk of steps 0 over a 1: db = Σ dZ).</summary>
    private static void Tile1(in Walk walk, float* a, float* dZ, int ldz, float* c, int ldc)
    {
        Vector512<float> c00 = default, c01 = default;
        int images = walk.Images, rows = walk.Rows, pixels = walk.Pixels, step = walk.PixelStep;
        for (int i = 0; i < images; i++)
        {
            for (int r = 0; r < rows; r++)
            {
                float* p = a + i * walk.ImageStride + r * walk.RowStep;
                for (int q = 0; q < pixels; q++, p += step, dZ += ldz)
                {
                    Vector512<float> b0 = Vector512.Load(dZ);
                    Vector512<float> b1 = Vector512.Load(dZ + 16);
                    Vector512<float> ai = Vector512.Create(p[0]);
                    c00 = Vector512.FusedMultiplyAdd(ai, b0, c00); c01 = Vector512.FusedMultiplyAdd(ai, b1, c01);
                }
            }
        }
        Store(c, c00, c01);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector512<float> lo, Vector512<float> hi)
    {
        lo.Store(c);
        hi.Store(c + 16);
    }
}
