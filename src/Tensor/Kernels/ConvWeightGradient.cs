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
/// <para>Every vector width has its tile, the GEMM micro-kernel's shape (<see cref="GemmMicroKernels.TileSize"/>): 8×32
/// in 16 Vector512 accumulators (this file), 6×16 in 12 Vector256 ones (AVX2, ConvWeightGradient.Vector256.cs), 8×8 in
/// 16 Vector128 ones on ARM64 (32 vector registers) and 6×8 in 12 on x86 without AVX (16 registers; both in
/// ConvWeightGradient.Vector128.cs). F must be a multiple of the tile's width (32, 16, 8); otherwise, and on machines
/// whose width is not enabled (<see cref="MachineKind"/>), the caller uses the GEMM. The tile shape changes only which
/// elements share a pass over the rows, never an element's sum: on a machine with FMA every width gives the same bits.</para>
/// </remarks>
internal static unsafe partial class ConvWeightGradient
{
    /// <summary>
    /// The tile family this machine runs: its GEMM kernel's (<see cref="Gemm.BestKernel"/>), for the widths measured faster
    /// than the GEMM path on a convolution's weight gradient (benchmarks/README.md, issue 13); null where none is.
    /// </summary>
    internal static readonly GemmKernelKind? MachineKind = Gemm.BestKernel switch
    {
        GemmKernelKind.Vector512 or GemmKernelKind.Vector256 or GemmKernelKind.Vector128 or GemmKernelKind.Vector128Arm64 => Gemm.BestKernel,
        _ => null,
    };

    /// <summary>The col rows the 256- and 128-bit tiles sweep before moving on to the next tile (see Compute256).</summary>
    private const int RowBlockBytes = 128 * 1024;

    /// <summary>Whether <see cref="Compute(int, int, int, float*, int, float*, float*)"/> handles <paramref name="filters"/> on this machine.</summary>
    public static bool Applies(int filters) => MachineKind is { } kind && Applies(kind, filters);

    /// <summary>Whether the <paramref name="kind"/> tiles handle <paramref name="filters"/>: a whole number of tile widths.</summary>
    internal static bool Applies(GemmKernelKind kind, int filters) =>
        kind != GemmKernelKind.Scalar && filters > 0 && filters % GemmMicroKernels.TileSize(kind).Nr == 0;

    /// <summary>result[(P+1)×F] = colᵀ·dZ over <paramref name="rows"/> rows (overwrites the result), with this machine's tiles.</summary>
    public static void Compute(int rows, int patchPlusOne, int filters, float* col, int ld, float* dZ, float* result) =>
        Compute(MachineKind ?? throw new InvalidOperationException("No weight-gradient tile is enabled on this machine."),
            rows, patchPlusOne, filters, col, ld, dZ, result);

    /// <summary>
    /// The same with the <paramref name="kind"/> tiles (the tests run every width the machine can execute). The caller
    /// checks <see cref="Applies(GemmKernelKind, int)"/>, and that the kind's vectors are accelerated.
    /// </summary>
    internal static void Compute(GemmKernelKind kind, int rows, int patchPlusOne, int filters, float* col, int ld, float* dZ, float* result)
    {
        if (!Applies(kind, filters))
            throw new ArgumentException($"The {kind} weight-gradient tiles need F a multiple of {GemmMicroKernels.TileSize(kind).Nr}, got {filters}.");
        switch (kind)
        {
            case GemmKernelKind.Vector512: Compute512(rows, patchPlusOne, filters, col, ld, dZ, result); break;
            case GemmKernelKind.Vector256: Compute256(rows, patchPlusOne, filters, col, ld, dZ, result); break;
            case GemmKernelKind.Vector128: Compute128<TileRows6>(rows, patchPlusOne, filters, col, ld, dZ, result); break;
            default: Compute128<TileRows8>(rows, patchPlusOne, filters, col, ld, dZ, result); break;
        }
    }

    /// <summary>The 512-bit tiles: 8 patch rows × 32 filters, then 4- and 1-row tiles for the rows left over.</summary>
    private static void Compute512(int rows, int patchPlusOne, int filters, float* col, int ld, float* dZ, float* result)
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
