using System.Runtime.Intrinsics;
using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// The convolution weight gradient summed in registers (<see cref="ConvWeightGradient"/>) against a naive double
/// sum, and through the Conv2D op against <see cref="ConvReference"/>, a gradient check and the thread counts.
/// Filter counts are multiples of 32 here: those are the ones that take the fast path.
/// </summary>
public class ConvWeightGradientTests
{
    // (rows, P + 1, row stride of col, F): 8-, 4- and 1-row tiles, a stride longer than the row, two filter blocks.
    [TestCase(37, 28, 28, 32)]      // 3×3 RGB patch + ones column: 3 eight-row tiles and a four-row one
    [TestCase(50, 289, 289, 64)]    // 3×3×32: 36 eight-row tiles and the ones row alone
    [TestCase(1, 15, 19, 96)]       // 8 + 4 + 3 single rows, one image row, col rows longer than the patch
    [TestCase(300, 3, 5, 32)]       // single rows only
    public void MatchesTheNaiveSum(int rows, int patchPlusOne, int ld, int filters)
    {
        Assume.That(ConvWeightGradient.Applies(filters), "needs accelerated Vector512");
        var rng = new Random(rows + patchPlusOne);
        float[] col = new float[rows * ld], dZ = new float[rows * filters];
        for (int i = 0; i < col.Length; i++) col[i] = rng.NextSingle() * 2 - 1;
        for (int i = 0; i < dZ.Length; i++) dZ[i] = rng.NextSingle() * 2 - 1;
        float[] actual = new float[patchPlusOne * filters];
        actual.AsSpan().Fill(float.NaN); // every element must be written
        unsafe
        {
            fixed (float* pc = col, pz = dZ, pr = actual)
                ConvWeightGradient.Compute(rows, patchPlusOne, filters, pc, ld, pz, pr);
        }
        for (int p = 0; p < patchPlusOne; p++)
            for (int f = 0; f < filters; f++)
            {
                double sum = 0;
                for (int r = 0; r < rows; r++)
                    sum += (double)col[r * ld + p] * dZ[r * filters + f];
                Assert.That(actual[p * filters + f], Is.EqualTo(sum).Within(1e-4 * (1 + Math.Abs(sum))), $"[{p}, {f}]");
            }
    }

    // (batch, H, W, C, filters, same): the seed layer's and the Keras model's convolutions, smaller.
    [TestCase(5, 32, 32, 3, 32, false)]   // seed: 2 images per chunk, 3 chunks, the last partial
    [TestCase(3, 12, 12, 3, 32, true)]
    [TestCase(4, 10, 10, 32, 32, false)]
    [TestCase(3, 7, 7, 32, 64, true)]
    [TestCase(2, 20, 20, 32, 32, false)]  // 324 output pixels: the input gradient in two blocks of pixels (168 + 156)
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

    [TestCase(false)]
    [TestCase(true)]
    public void Conv2DWith32FiltersGradientCheck(bool same)
    {
        var x = GradientCheck.Random([2, 5, 4, 2], 61);
        var k = GradientCheck.Random([3, 3, 2, 32], 62);
        var b = GradientCheck.Random([32], 63);
        GradientCheck.Check(t => Ops.Conv2D(t[0], t[1], t[2], 1, 1, same), [x, k, b]);
    }

    [Test]
    public void Conv2DBackwardWith32FiltersIsBitwiseIdenticalAcrossThreadCounts()
    {
        // 26×26 inputs give 24×24 outputs: 3 images per chunk, so the batch of 24 is 8 chunks to split.
        float[] one = Gradients(1), two = Gradients(2), three = Gradients(3);
        Assert.That(two, Is.EqualTo(one).AsCollection);
        Assert.That(three, Is.EqualTo(one).AsCollection);

        static float[] Gradients(int threads)
        {
            int saved = Parallelism.MaxThreads;
            Parallelism.MaxThreads = threads;
            try
            {
                var x = Tensor.RandomUniform([24, 26, 26, 3], -1, 1, 70).AsParameter();
                var k = Tensor.RandomUniform([3, 3, 3, 32], -1, 1, 71).AsParameter();
                var b = Tensor.RandomUniform([32], -0.1f, 0.1f, 72).AsParameter();
                Tensor upstream = Tensor.RandomUniform([24, 24, 24, 32], -1, 1, 73);
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
