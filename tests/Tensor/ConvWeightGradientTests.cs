using System.Runtime.Intrinsics;
using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// The convolution weight gradient summed in registers (<see cref="ConvWeightGradient"/>) against a naive double
/// sum, at every tile width this machine can run (forced, as the GEMM tests force their kernels), and through the Conv2D
/// op against <see cref="ConvReference"/>, a gradient check and the thread counts (there with the machine's own width;
/// .ci/run repeats these with AVX-512 and with AVX switched off, so the 256- and 128-bit tiles run through the op too).
/// </summary>
public class ConvWeightGradientTests
{
    private static readonly GemmKernelKind[] TileKinds =
        [GemmKernelKind.Vector512, GemmKernelKind.Vector256, GemmKernelKind.Vector128, GemmKernelKind.Vector128Arm64];

    /// <summary>Whether this machine executes the kind's vectors in hardware (else the test is skipped, not emulated).</summary>
    private static bool Runs(GemmKernelKind kind) => kind switch
    {
        GemmKernelKind.Vector512 => Vector512.IsHardwareAccelerated,
        GemmKernelKind.Vector256 => Vector256.IsHardwareAccelerated,
        _ => Vector128.IsHardwareAccelerated,
    };

    // (rows, P + 1, row stride of col, F): full tiles and every leftover height, a stride longer than the row, several
    // filter blocks. Each shape runs with every kind whose tile width divides F.
    private static readonly (int Rows, int PatchPlusOne, int Ld, int Filters)[] Shapes =
    [
        (37, 28, 28, 32),   // 3×3 RGB patch + ones column: 8·3 + 4, 6·4 + 4, 8·3 + 4
        (50, 289, 289, 64), // 3×3×32: 8·36 + 1, 6·48 + 1
        (1, 15, 19, 96),    // 8 + 7 / 6·2 + 3 rows, one image row, col rows longer than the patch
        (300, 3, 5, 32),    // fewer patch rows than any tile
        (23, 13, 13, 16),   // 6·2 + 1, 8 + 5; 16 filters: not the 512-bit tiles
        (9, 22, 25, 48),    // 6·3 + 4, 8·2 + 6
        (17, 11, 11, 8),    // 6 + 5, 8 + 3; 8 filters: the 128-bit tiles only
        (40, 14, 16, 24),   // 6·2 + 2, 8 + 6
        (5, 7, 7, 8),       // 6 + 1, and 7 rows under the 8-row tile
        (64, 8, 8, 16),     // exactly one 8-row tile; 6 + 2
        (260, 289, 300, 16), // 128 KB blocks of col rows (109, 109, 42): each chain goes on across blocks
        (2500, 28, 28, 48), // 1,170-row blocks: 1,170, 1,170, 160
    ];

    private static IEnumerable<TestCaseData> KindsAndShapes() =>
        from kind in TileKinds
        from shape in Shapes
        where ConvWeightGradient.Applies(kind, shape.Filters)
        select new TestCaseData(kind.ToString(), shape.Rows, shape.PatchPlusOne, shape.Ld, shape.Filters);

    [TestCaseSource(nameof(KindsAndShapes))]
    public void MatchesTheNaiveSum(string kindName, int rows, int patchPlusOne, int ld, int filters)
    {
        GemmKernelKind kind = Enum.Parse<GemmKernelKind>(kindName); // the enum is internal: a public test takes its name
        Assume.That(Runs(kind), $"needs accelerated {kind}");
        (float[] col, float[] dZ) = Operands(rows, patchPlusOne, ld, filters);
        float[] actual = Compute(kind, rows, patchPlusOne, ld, filters, col, dZ);
        for (int p = 0; p < patchPlusOne; p++)
            for (int f = 0; f < filters; f++)
            {
                double sum = 0;
                for (int r = 0; r < rows; r++)
                    sum += (double)col[r * ld + p] * dZ[r * filters + f];
                Assert.That(actual[p * filters + f], Is.EqualTo(sum).Within(1e-4 * (1 + Math.Abs(sum))), $"[{p}, {f}]");
            }
    }

    /// <summary>
    /// Each element is one fused multiply-add chain over the rows in order, whatever the tile: with FMA in hardware every
    /// width gives the bits of the scalar chain (MathF.FusedMultiplyAdd), so the tile shape is never part of the result.
    /// </summary>
    [TestCaseSource(nameof(KindsAndShapes))]
    public void WithFmaEveryWidthGivesTheBitsOfTheScalarChain(string kindName, int rows, int patchPlusOne, int ld, int filters)
    {
        GemmKernelKind kind = Enum.Parse<GemmKernelKind>(kindName); // the enum is internal: a public test takes its name
        Assume.That(Runs(kind), $"needs accelerated {kind}");
        Assume.That(System.Runtime.Intrinsics.X86.Fma.IsSupported || System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported, "needs FMA in hardware");
        (float[] col, float[] dZ) = Operands(rows, patchPlusOne, ld, filters);
        float[] actual = Compute(kind, rows, patchPlusOne, ld, filters, col, dZ);
        for (int p = 0; p < patchPlusOne; p++)
            for (int f = 0; f < filters; f++)
            {
                float chain = 0;
                for (int r = 0; r < rows; r++)
                    chain = MathF.FusedMultiplyAdd(col[r * ld + p], dZ[r * filters + f], chain);
                Assert.That(actual[p * filters + f], Is.EqualTo(chain), $"[{p}, {f}]");
            }
    }

    private static (float[] Col, float[] DZ) Operands(int rows, int patchPlusOne, int ld, int filters)
    {
        var rng = new Random(rows + patchPlusOne + filters);
        float[] col = new float[rows * ld], dZ = new float[rows * filters];
        for (int i = 0; i < col.Length; i++) col[i] = rng.NextSingle() * 2 - 1;
        for (int i = 0; i < dZ.Length; i++) dZ[i] = rng.NextSingle() * 2 - 1;
        return (col, dZ);
    }

    private static float[] Compute(GemmKernelKind kind, int rows, int patchPlusOne, int ld, int filters, float[] col, float[] dZ)
    {
        float[] actual = new float[patchPlusOne * filters];
        actual.AsSpan().Fill(float.NaN); // every element must be written
        unsafe
        {
            fixed (float* pc = col, pz = dZ, pr = actual)
                ConvWeightGradient.Compute(kind, rows, patchPlusOne, filters, pc, ld, pz, pr);
        }
        return actual;
    }

    [Test]
    public void TheTilesRefuseAFilterCountThatIsNotAWholeNumberOfTileWidths()
    {
        Assert.That(ConvWeightGradient.Applies(GemmKernelKind.Vector512, 48), Is.False);
        Assert.That(ConvWeightGradient.Applies(GemmKernelKind.Vector256, 24), Is.False);
        Assert.That(ConvWeightGradient.Applies(GemmKernelKind.Vector128Arm64, 12), Is.False);
        Assert.That(ConvWeightGradient.Applies(GemmKernelKind.Scalar, 32), Is.False);
        Assert.Throws<ArgumentException>(() => Compute(GemmKernelKind.Vector256, 1, 1, 1, 24, new float[1], new float[24]));
    }

    // (batch, H, W, C, filters, same): the seed layer's and the Keras model's convolutions, smaller.
    [TestCase(5, 32, 32, 3, 32, false)]   // seed: 2 images per chunk, 3 chunks, the last partial
    [TestCase(3, 12, 12, 3, 32, true)]
    [TestCase(4, 10, 10, 32, 32, false)]
    [TestCase(3, 7, 7, 32, 64, true)]
    [TestCase(2, 20, 20, 32, 32, false)]  // 324 output pixels: the input gradient in two blocks of pixels (168 + 156)
    [TestCase(3, 9, 9, 3, 16, true)]      // 16 filters: the 256- and 128-bit tiles (the GEMM where 512 bits run)
    [TestCase(2, 8, 8, 5, 8, false)]      // 8 filters: the 128-bit tiles only
    [TestCase(2, 7, 7, 4, 48, true)]      // 48: three 16-filter blocks
    public void Conv2DBackwardMatchesTheNaiveReference(int batch, int h, int w, int c, int filters, bool same)
    {
        var g = ConvGeometry.Create(h, w, c, 3, 3, 1, 1, same);
        var x = Tensor.RandomUniform([batch, h, w, c], -1, 1, 50).AsParameter();
        var k = Tensor.RandomUniform([3, 3, c, filters], -1, 1, 51).AsParameter();
        var b = Tensor.RandomUniform([filters], -1, 1, 52).AsParameter();
        Tensor upstream = Tensor.RandomUniform([batch, g.OutputHeight, g.OutputWidth, filters], -1, 1, 53);
        Ops.Sum(Ops.Multiply(Ops.Conv2D(x, k, b, 1, 1, same), upstream)).Backward();

        var dW = new float[k.Length];
        var dBias = new float[filters];
        var dX = new float[x.Length];
        ConvReference.Conv2DBackward(x.Span, k.Span, upstream.Span, dW, dBias, dX, batch, filters, g);
        AssertClose(k.Grad!.ToArray(), dW, "dW");
        AssertClose(b.Grad!.ToArray(), dBias, "dBias");
        AssertClose(x.Grad!.ToArray(), dX, "dX");

        static void AssertClose(float[] actual, float[] expected, string what)
        {
            for (int i = 0; i < expected.Length; i++)
                Assert.That(actual[i], Is.EqualTo(expected[i]).Within(1e-4f * (1 + MathF.Abs(expected[i]))), $"{what}[{i}]");
        }
    }

    [TestCase(false, 32)]
    [TestCase(true, 32)]
    [TestCase(true, 16)]
    [TestCase(false, 8)]
    public void Conv2DGradientCheck(bool same, int filters)
    {
        var x = GradientCheck.Random([2, 5, 4, 2], 61);
        var k = GradientCheck.Random([3, 3, 2, filters], 62);
        var b = GradientCheck.Random([filters], 63);
        GradientCheck.Check(t => Ops.Conv2D(t[0], t[1], t[2], 1, 1, same), [x, k, b]);
    }

    [TestCase(32)]
    [TestCase(16)]
    [TestCase(8)]
    public void Conv2DBackwardIsBitwiseIdenticalAcrossThreadCounts(int filters)
    {
        // 26×26 inputs give 24×24 outputs: 3 images per chunk, so the batch of 24 is 8 chunks to split.
        float[] one = Gradients(1, filters), two = Gradients(2, filters), three = Gradients(3, filters);
        Assert.That(two, Is.EqualTo(one).AsCollection);
        Assert.That(three, Is.EqualTo(one).AsCollection);

        static float[] Gradients(int threads, int filters)
        {
            int saved = Parallelism.MaxThreads;
            Parallelism.MaxThreads = threads;
            try
            {
                var x = Tensor.RandomUniform([24, 26, 26, 3], -1, 1, 70).AsParameter();
                var k = Tensor.RandomUniform([3, 3, 3, filters], -1, 1, 71).AsParameter();
                var b = Tensor.RandomUniform([filters], -0.1f, 0.1f, 72).AsParameter();
                Tensor upstream = Tensor.RandomUniform([24, 24, 24, filters], -1, 1, 73);
                Ops.Sum(Ops.Multiply(Ops.Conv2D(x, k, b, activation: ActivationFunction.Relu), upstream)).Backward();
                return [.. k.Grad!.ToArray(), .. b.Grad!.ToArray(), .. x.Grad!.ToArray()];
            }
            finally
            {
                Parallelism.MaxThreads = saved;
            }
        }
    }
}
