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
/// needs packing: a row r of col already holds the R consecutive patch values one tile row-block needs (the values a
/// packed A panel would hold, ld apart instead of R), and a row of dZ holds the filters of a B panel row (F apart
/// instead of 32). So the tile (ConvWeightGradient.Tile.cs) reads both in place and keeps its block of [dW; db] in
/// registers across the rows, storing it once per block of rows.</para>
/// <para>Every vector width runs the same generic tile at the GEMM micro-kernel's shape
/// (<see cref="GemmMicroKernels.TileSize"/>): 8×32 in 16 Vector512 accumulators, 6×16 in 12 Vector256 ones (AVX2),
/// 8×8 in 16 Vector128 ones on ARM64 (32 vector registers) and 6×8 in 12 on x86 without AVX (16 registers). Patch rows
/// left over at the end of P + 1 (28 = 3·8 + 4 for a 3×3 RGB patch with its ones column, 289 = 36·8 + 1 for 32 channels)
/// run as one shorter tile of the same code. F must be a multiple of the tile's width (32, 16, 8); otherwise, and on
/// machines whose width is not enabled (<see cref="MachineKind"/>), the caller uses the GEMM. Each element is a plain
/// sum over r in order, so the chunk's result does not depend on threads, and on a machine with FMA every width gives
/// the same bits.</para>
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

    /// <summary>The col rows the tiles sweep before moving on to the next tile (see ComputeTiles).</summary>
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
            case GemmKernelKind.Vector512: ComputeTiles<Lanes512, TileRows8>(rows, patchPlusOne, filters, col, ld, dZ, result); break;
            case GemmKernelKind.Vector256: ComputeTiles<Lanes256, TileRows6>(rows, patchPlusOne, filters, col, ld, dZ, result); break;
            case GemmKernelKind.Vector128: ComputeTiles<Lanes128, TileRows6>(rows, patchPlusOne, filters, col, ld, dZ, result); break;
            default: ComputeTiles<Lanes128, TileRows8>(rows, patchPlusOne, filters, col, ld, dZ, result); break;
        }
    }

    /// <summary>
    /// The tiles of one vector width over every block of 2L filters (L = <typeparamref name="TLanes"/>' count):
    /// <typeparamref name="TMain"/>-row tiles, then one tile of the rows left.
    /// </summary>
    private static void ComputeTiles<TLanes, TMain>(int rows, int patchPlusOne, int filters, float* col, int ld, float* dZ, float* result)
        where TLanes : struct, ILanes<TLanes> where TMain : struct, ITileRows
    {
        int width = 2 * TLanes.Count;
        // Blocks of rows whose col rows fit in about 128 KB, so the tiles after the first read them from the L2 cache, not
        // from memory (a 3×3×64 patch is 2.3 KB a row: one pass per tile over a chunk's 1,800 rows would stream 4 MB).
        // Each element's chain goes on across blocks from its stored sum: the same sum, in the same order.
        int blockRows = Math.Max(32, RowBlockBytes / (ld * sizeof(float)));
        for (int first = 0; first == 0 || first < rows; first += blockRows) // once with no rows: zeros
        {
            var walk = Walk.Matrix(Math.Min(blockRows, rows - first), ld);
            bool add = first > 0;
            float* blockCol = col + (long)first * ld, blockDZ = dZ + (long)first * filters;
            for (int f = 0; f < filters; f += width)
            {
                int p = 0;
                for (; p + TMain.Count <= patchPlusOne; p += TMain.Count)
                    Tile<TLanes, TMain>(walk, blockCol + p, blockDZ + f, filters, result + (long)p * filters + f, filters, add);
                if (p < patchPlusOne)
                    Tile<TLanes>(patchPlusOne - p, walk, blockCol + p, blockDZ + f, filters, result + (long)p * filters + f, filters, add);
            }
        }
    }
}
