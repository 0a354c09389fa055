namespace NanoNet.Kernels;

/// <summary>
/// The direct convolution's weight gradient: [dW; db] = Σ over a chunk's output pixels of patchᵀ · dZ, with each patch
/// read in place from the images (see <see cref="DirectConv"/>) instead of from a rebuilt im2col matrix.
/// </summary>
/// <remarks>
/// <para>Shape legend: the source images are Hp×Wp×C (<see cref="DirectConv.Source"/>); dZ is images×OH×OW×F (the
/// masked output gradient, NHWC); run = KW·C; the result [dW; db] is (P + 1)×F, row-major, P = KH·KW·C: dW is the
/// (KH, KW, C, F) kernel read as P×F, db its last row.</para>
/// <para>The tiles are <see cref="ConvWeightGradient"/>'s generic one (ConvWeightGradient.Tile.cs) at 512 bits (at 256 on
/// AVX2: 6-row tiles and one of up to 6 rows left, 12 accumulators of the 16 YMM registers), with another walk over their
/// A operand. For kernel row kh, rows p = kh·run + k (k in 0..run) of dW need, at output pixel
/// (oh, ow), the values x[oh·sh + kh, ow·sw, k]: the run of KW·C floats starting there. So a tile holds a block of dW
/// rows × 32 filters in registers and walks the pixels in order (image, oh, ow), stepping sw·C floats along an image
/// row and reading a dZ row (two vectors) per pixel. A 3×3 RGB run of 9 is one tile of 18 accumulators (plus two dZ
/// vectors and a broadcast: 21 of the 32 registers), so no patch row is left over for a 1-row tile whose two
/// accumulators would wait on the FMA latency. Longer runs are cut into 8-row tiles and one of the 1–9 rows left, and
/// db = Σ dZ is summed by kernel row 0's last tile when its accumulators fit the registers
/// (<see cref="ConvWeightGradient.ColumnSumsToo"/>), else by a 1-row tile over a constant 1: the same bits.</para>
/// <para>Each element is a plain chain of fused multiply-adds over the pixels in order, from zero: the same chain as the
/// im2col path's (<see cref="ConvWeightGradient"/> over col), so the results agree bit for bit.</para>
/// </remarks>
internal static unsafe partial class DirectConvWeightGradient
{
    /// <summary>
    /// Output rows per block of the walk: the block's dZ rows (rows·OW·F floats) within 16 KB, so that they and the image
    /// rows the tiles read stay in L1 while every tile of [dW; db] passes over them (a third of a 48 KB L1d, half of 32 KB).
    /// </summary>
    internal static int BlockRows(in ConvGeometry g, int filters) =>
        Math.Clamp(16 * 1024 / (g.OutputWidth * filters * sizeof(float)), 1, g.OutputHeight);

    /// <summary>Off only in tests and benchmarks, to compare the AVX2 tiles (<see cref="Applies256"/>) against the im2col path.</summary>
    internal static bool Enabled256 = true;

    /// <summary>
    /// Whether <see cref="Compute"/> takes this weight gradient on an AVX2 + FMA machine (no AVX-512: there
    /// <see cref="DirectConv.Applies"/> decides): the 6×16 tiles, F a multiple of 16, no dilation, a kernel row up to
    /// <see cref="DirectConv.MaxRun"/>. On a Zen 3 core the im2col matrix this spares (28 floats a pixel for the RGB stem,
    /// 9x the image over 32 channels) cost a third of the stem's weight gradient (benchmarks/README.md, forty-second sitting).
    /// </summary>
    public static bool Applies256(in ConvGeometry g, int filters) =>
        Enabled256 && Gemm.BestKernel == GemmKernelKind.Vector256 && System.Runtime.Intrinsics.X86.Fma.IsSupported
        && filters > 0 && filters % 16 == 0 && g.DilationHeight == 1 && g.DilationWidth == 1 && g.KernelWidth * g.Channels <= DirectConv.MaxRun;

    /// <summary>result[(P+1)×F] = Σ over the chunk's pixels of [patch; 1]ᵀ · dZ (overwrites the result), with the 8×32 tiles
    /// on AVX-512 and the 6×16 ones on AVX2 (<see cref="Applies256"/>).</summary>
    public static void Compute(DirectConv.Source x, int images, in ConvGeometry g, float* dZ, int filters, float* result)
    {
        if (Gemm.BestKernel == GemmKernelKind.Vector512)
            Compute<Lanes512, TileRows8>(x, images, g, dZ, filters, result, longestLastTile: 9);
        else
            Compute<Lanes256, TileRows6>(x, images, g, dZ, filters, result, longestLastTile: 6, balancesLastTiles: true);
    }

    /// <summary>
    /// The most rows of a tile that also sums db (<see cref="ConvWeightGradient.ColumnSumsToo"/>): its 2R + 2 accumulators,
    /// two dZ vectors and a broadcast within the vector registers — 16 YMM (R ≤ 5), 32 ZMM (R ≤ 9).
    /// </summary>
    private static int MostRowsWithSums<TLanes>() where TLanes : struct, ILanes<TLanes> => TLanes.Count >= 16 ? 9 : 5;

    /// <summary>result[(P+1)×F] = Σ over the chunk's pixels of [patch; 1]ᵀ · dZ (overwrites the result): each kernel row's
    /// run in <typeparamref name="TMain"/>-row tiles and one of the rest (up to <paramref name="longestLastTile"/> rows: 9
    /// fit the 32 ZMM registers, 6 the 16 YMM ones). With <paramref name="balancesLastTiles"/> (AVX2) a rest of 1–3 rows
    /// shares the last whole tile's rows instead: a 3×3 RGB run of 9 as 5 + 4 rows (10 and 8 chains), not 6 + 3, whose
    /// 3-row tile's 6 chains wait on the FMA latency.</summary>
    /// <remarks>
    /// The pixels go in blocks of <see cref="BlockRows"/> output rows of one image, and every tile passes over a block before
    /// the next: a tile of a later block goes on from the sums the earlier ones stored (<c>add</c>), so each element is still
    /// one chain over the pixels in order, the bits unchanged, while dZ is read from L1 instead of L2 by all but the first
    /// tile (⌈P/8⌉ + 1 = 37 tiles over the Keras 32 → 32 layer's 900 pixels, each reading all of its 115 KB dZ before).
    /// </remarks>
    private static void Compute<TLanes, TMain>(DirectConv.Source x, int images, in ConvGeometry g, float* dZ, int filters, float* result,
        int longestLastTile, bool balancesLastTiles = false)
        where TLanes : struct, ILanes<TLanes> where TMain : struct, ITileRows
    {
        int width = 2 * TLanes.Count, run = g.KernelWidth * g.Channels, patch = g.PatchSize, oh1 = g.OutputHeight, ow1 = g.OutputWidth;
        long rowStep = (long)g.StrideHeight * x.RowStride;
        int blockRows = BlockRows(g, filters);
        float one = 1f;
        bool add = false;
        for (int i = 0; i < images; i++)
        {
            for (int r0 = 0; r0 < oh1; r0 += blockRows, add = true)
            {
                int rows = Math.Min(blockRows, oh1 - r0);
                var walk = new ConvWeightGradient.Walk(1, rows, ow1, 0, rowStep, g.StrideWidth * g.Channels);
                var constant = new ConvWeightGradient.Walk(1, rows, ow1, 0, 0, 0); // every step reads the same 1
                float* image = x.Images + (long)i * x.ImageStride + r0 * rowStep;
                float* dz = dZ + ((long)i * oh1 + r0) * ow1 * filters;
                for (int f = 0; f < filters; f += width)
                {
                    float* db = result + (long)patch * filters + f;
                    bool summed = false; // db summed by kernel row 0's last tile
                    for (int kh = 0; kh < g.KernelHeight; kh++)
                    {
                        float* a = image + (long)kh * x.RowStride, c = result + (long)kh * run * filters + f;
                        int k = 0;
                        for (; run - k > longestLastTile; k += TMain.Count)
                        {
                            if (balancesLastTiles && run - k < TMain.Count + 4)
                                break; // the last TMain + r rows (r < 4) go as two tiles of about half each, below
                            ConvWeightGradient.Tile<TLanes, TMain>(walk, a + k, dz + f, filters, c + (long)k * filters, filters, add);
                        }
                        if (run - k > longestLastTile)
                        {
                            int half = (run - k + 1) / 2;
                            ConvWeightGradient.Tile<TLanes>(half, walk, a + k, dz + f, filters, c + (long)k * filters, filters, add);
                            k += half;
                        }
                        if (kh == 0 && run - k <= MostRowsWithSums<TLanes>())
                        {
                            ConvWeightGradient.TileOfHeight<TLanes, ConvWeightGradient.ColumnSumsToo>(run - k, walk, a + k, dz + f, filters,
                                c + (long)k * filters, filters, add, db);
                            summed = true;
                        }
                        else
                        {
                            ConvWeightGradient.Tile<TLanes>(run - k, walk, a + k, dz + f, filters, c + (long)k * filters, filters, add);
                        }
                    }
                    if (!summed)
                        ConvWeightGradient.Tile<TLanes, TileRows1>(constant, &one, dz + f, filters, db, filters, add);
                }
            }
        }
    }
}
