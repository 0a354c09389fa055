namespace NanoNet.Kernels;

/// <summary>
/// The direct convolution's weight gradient: [dW; db] = Σ over a chunk's output pixels of patchᵀ · dZ, with each patch
/// read in place from the images (see <see cref="DirectConv"/>) instead of from a rebuilt im2col matrix.
/// </summary>
/// <remarks>
/// <para>Shape legend: the source images are Hp×Wp×C (<see cref="DirectConv.Source"/>); dZ is images×OH×OW×F (the
/// masked output gradient, NHWC); run = KW·C; the result [dW; db] is (P + 1)×F, row-major, P = KH·KW·C: dW is the
/// (KH, KW, C, F) kernel read as P×F, db its last row.</para>
/// <para>The tiles are <see cref="ConvWeightGradient"/>'s generic one (ConvWeightGradient.Tile.cs) at 512 bits, with
/// another walk over their A operand. For kernel row kh, rows p = kh·run + k (k in 0..run) of dW need, at output pixel
/// (oh, ow), the values x[oh·sh + kh, ow·sw, k]: the run of KW·C floats starting there. So a tile holds a block of dW
/// rows × 32 filters in registers and walks the pixels in order (image, oh, ow), stepping sw·C floats along an image
/// row and reading a dZ row (two vectors) per pixel. A 3×3 RGB run of 9 is one tile of 18 accumulators (plus two dZ
/// vectors and a broadcast: 21 of the 32 registers), so no patch row is left over for a 1-row tile whose two
/// accumulators would wait on the FMA latency. Longer runs are cut into 8-row tiles and one of the 1–9 rows left, and
/// db = Σ dZ is a 1-row tile over a constant 1.</para>
/// <para>Each element is a plain chain of fused multiply-adds over the pixels in order, from zero: the same chain as the
/// im2col path's (<see cref="ConvWeightGradient"/> over col), so the results agree bit for bit.</para>
/// </remarks>
internal static unsafe class DirectConvWeightGradient
{
    /// <summary>
    /// The dZ rows a block of <see cref="ComputePooled"/> unpools at a time: about 16 KB (4 output rows of 30 pixels × 32
    /// filters), so they stay in the L1 cache between the unpooling and the tiles.
    /// </summary>
    private const int PooledBlockBytes = 16 * 1024;

    /// <summary>result[(P+1)×F] = Σ over the chunk's pixels of [patch; 1]ᵀ · dZ (overwrites the result).</summary>
    public static void Compute(DirectConv.Source x, int images, in ConvGeometry g, float* dZ, int filters, float* result) =>
        Accumulate(x.Images, x.RowStride, new ConvWeightGradient.Walk(images, g.OutputHeight, g.OutputWidth, x.ImageStride,
            (long)g.StrideHeight * x.RowStride, g.StrideWidth * g.Channels), g, dZ, filters, result, add: false);

    /// <summary>
    /// The same with dZ the gradient through a 2×2 / 2 max pooling of the convolution's output (as in
    /// <see cref="Conv2DKernels.BackwardMaxPool"/>): the chunk's pooled gradient <paramref name="dY"/>, its winners
    /// <paramref name="argmax"/> (positions in each image's convolution output) and, with a ReLU, the pooled maxima
    /// <paramref name="y"/> (null without one). <see cref="MaxPoolKernels.Unpools2x2"/> must hold for <paramref name="pool"/>.
    /// </summary>
    /// <remarks>
    /// dZ is never made whole: a block of a few output rows at a time is unpooled into <paramref name="block"/> (at least
    /// <see cref="PooledBlockRows"/>·OW·F floats) by <see cref="MaxPoolKernels.Unpool2x2(float*, int*, float*, float*, in ConvGeometry, int, int)"/>
    /// and the tiles walk that block's pixels, their accumulators going on from the sums stored after the previous block.
    /// So dZ stays in L1 instead of going out to L2 and coming back four times (three kernel rows and db), and the
    /// unpooling's reads of the pooled arrays alternate with the tiles' arithmetic. Each element is still one chain over
    /// the chunk's pixels in order (a stored and reloaded sum is exact): the same bits as <see cref="Compute"/> on the
    /// whole unpooled dZ.
    /// </remarks>
    public static void ComputePooled(DirectConv.Source x, int images, in ConvGeometry g, in ConvGeometry pool, float* dY, int* argmax, float* y,
        int filters, float* result, float* block)
    {
        int rowFloats = g.OutputWidth * filters, blockRows = PooledBlockRows(g, filters), pooledSize = pool.OutputPixels * filters;
        long rowStep = (long)g.StrideHeight * x.RowStride;
        for (int i = 0; i < images; i++)
        {
            float* image = x.Images + (long)i * x.ImageStride;
            long pooled = (long)i * pooledSize;
            for (int first = 0; first < g.OutputHeight; first += blockRows)
            {
                // Output rows [first, end): whole windows, and the last row of an odd height with the block before it.
                int end = first + blockRows >= 2 * pool.OutputHeight ? g.OutputHeight : first + blockRows;
                MaxPoolKernels.Unpool2x2(dY + pooled, argmax + pooled, y == null ? null : y + pooled, block - (long)first * rowFloats, pool, first, end);
                var walk = new ConvWeightGradient.Walk(1, end - first, g.OutputWidth, 0, rowStep, g.StrideWidth * g.Channels);
                Accumulate(image + first * rowStep, x.RowStride, walk, g, block, filters, result, add: i > 0 || first > 0);
                if (end == g.OutputHeight)
                    break;
            }
        }
    }

    /// <summary>Output rows per block of <see cref="ComputePooled"/>: an even number, at least 2.</summary>
    public static int PooledBlockRows(in ConvGeometry g, int filters) =>
        Math.Max(2, PooledBlockBytes / (g.OutputWidth * filters * sizeof(float)) / 2 * 2);

    /// <summary>
    /// result (+)= Σ over the walk of [patch; 1]ᵀ · dZ: per 32 filters and kernel row kh, the run's rows of dW as tiles of at
    /// most 9 rows (8-row tiles first when the run is longer), then db as a 1-row tile over a constant 1.
    /// </summary>
    private static void Accumulate(float* images, int rowStride, in ConvWeightGradient.Walk walk, in ConvGeometry g, float* dZ, int filters,
        float* result, bool add)
    {
        int run = g.KernelWidth * g.Channels, patch = g.PatchSize;
        float one = 1f;
        var constant = walk with { ImageStride = 0, RowStep = 0, PixelStep = 0 }; // every step reads the same 1
        for (int f = 0; f < filters; f += 32)
        {
            for (int kh = 0; kh < g.KernelHeight; kh++)
            {
                float* a = images + (long)kh * rowStride, c = result + (long)kh * run * filters + f;
                int k = 0;
                for (; run - k > 9; k += 8)
                    ConvWeightGradient.Tile<Lanes512, TileRows8>(walk, a + k, dZ + f, filters, c + (long)k * filters, filters, add);
                ConvWeightGradient.Tile<Lanes512>(run - k, walk, a + k, dZ + f, filters, c + (long)k * filters, filters, add);
            }
            ConvWeightGradient.Tile<Lanes512, TileRows1>(constant, &one, dZ + f, filters, result + (long)patch * filters + f, filters, add);
        }
    }
}
