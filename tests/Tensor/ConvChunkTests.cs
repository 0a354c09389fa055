using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// How many images a convolution's parallel chunk takes (<see cref="Conv2DKernels.ImagesPerChunk(in ConvGeometry, long)"/>):
/// the chunk's im2col matrix stays within 3/8 of L2, at most 2048 rows, at least one image; fixed by the shapes and the
/// machine's L2, never by the thread count.
/// </summary>
public class ConvChunkTests
{
    private const long OneMB = 1024 * 1024, TwoMB = 2 * OneMB;

    // The Keras cifar10_cnn layers that go through im2col, and the 3-channel stem (direct kernels, same chunking rule).
    private static readonly ConvGeometry KerasConv1 = ConvGeometry.Create(32, 32, 32, 3, 3, 1, 1, samePadding: false); // 30×30, P 288
    private static readonly ConvGeometry KerasConv2 = ConvGeometry.Create(15, 15, 32, 3, 3, 1, 1, samePadding: true);  // 15×15, P 288
    private static readonly ConvGeometry KerasConv3 = ConvGeometry.Create(15, 15, 64, 3, 3, 1, 1, samePadding: false); // 13×13, P 576
    private static readonly ConvGeometry Stem = ConvGeometry.Create(32, 32, 3, 3, 3, 1, 1, samePadding: true);         // 32×32, P 27

    private static long ColumnBytes(in ConvGeometry g, int images) => (long)images * g.OutputPixels * (g.PatchSize + 1) * sizeof(float);

    [Test]
    public void TheKerasLayersChunksFitTheirL2()
    {
        Assert.That(Conv2DKernels.ImagesPerChunk(KerasConv1, TwoMB), Is.EqualTo(1), "one 30×30 image is already a 1 MB matrix");
        Assert.That(Conv2DKernels.ImagesPerChunk(KerasConv2, TwoMB), Is.EqualTo(3));
        Assert.That(Conv2DKernels.ImagesPerChunk(KerasConv3, TwoMB), Is.EqualTo(2));
        foreach (ConvGeometry g in new[] { KerasConv1, KerasConv2, KerasConv3 })
        {
            Assert.That(Conv2DKernels.ImagesPerChunk(g, OneMB), Is.EqualTo(1), "1 MB L2: one image each");
            foreach (long l2 in new[] { OneMB, TwoMB })
            {
                int images = Conv2DKernels.ImagesPerChunk(g, l2);
                Assert.That(images == 1 || ColumnBytes(g, images) <= l2 * 3 / 8, Is.True, $"{images} images on {l2 >> 20} MB");
                Assert.That(ColumnBytes(g, images + 1), Is.GreaterThan(l2 * 3 / 8), "and no fewer than fit");
            }
        }
    }

    [Test]
    public void ShortPatchesStillTake2048Rows()
    {
        Assert.That(Conv2DKernels.ImagesPerChunk(Stem, OneMB), Is.EqualTo(2), "2 × 1024 pixels");
        Assert.That(Conv2DKernels.ImagesPerChunk(Stem, TwoMB), Is.EqualTo(2));
        var tiny = ConvGeometry.Create(4, 4, 1, 3, 3, 1, 1, samePadding: false); // 2×2 outputs: many images per chunk
        Assert.That(Conv2DKernels.ImagesPerChunk(tiny, TwoMB), Is.EqualTo(2048 / 4));
    }

    [Test]
    public void ALargerImageThanTheBudgetIsStillOneImage()
    {
        var big = ConvGeometry.Create(256, 256, 64, 3, 3, 1, 1, samePadding: true);
        Assert.That(Conv2DKernels.ImagesPerChunk(big, OneMB), Is.EqualTo(1));
    }
}
