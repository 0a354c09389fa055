using NanoNet.Kernels;

namespace NanoNet.Docs.Samples;

/// <summary>Samples of docs/convolution.md.</summary>
public static class ConvolutionSamples
{
    /// <summary>Largest |kernel − (im2col · [W; b])| for a small batch: the lowering written out by hand.</summary>
    public static float LoweringByHand()
    {
        #region im2col-by-hand
        // x: N×H×W×C = 2×5×5×3, kernel: KH×KW×C×F = 3×3×3×4, 'same' padding, stride 1.
        const int batch = 2, filters = 4;
        ConvGeometry g = ConvGeometry.Create(5, 5, 3, 3, 3, 1, 1, samePadding: true);
        float[] x = Tensor.RandomNormal([batch, 5, 5, 3], seed: 1).ToArray();
        float[] w = Tensor.RandomNormal([3, 3, 3, filters], seed: 2).ToArray();     // = a P×F matrix, P = 27
        float[] bias = [0.1f, 0.2f, 0.3f, 0.4f];

        // The kernel: chunked im2col with the ones column, one GEMM per chunk, NHWC output.
        var y = new float[batch * g.OutputPixels * filters];                        // N×OH×OW×F
        Conv2DKernels.Forward(x, w, bias, y, batch, filters, g, relu: false);

        // The same by hand for image 0: col is (OH·OW)×(P+1), its last column all ones ...
        int p = g.PatchSize, rows = g.OutputPixels;
        var col = new float[rows * (p + 1)];
        Im2Col.Forward(x.AsSpan(0, g.InputImageSize), col, g, rowStride: p + 1);
        // ... and [W; b] is the kernel with the bias appended as row P.
        float[] weightsWithBias = [.. w, .. bias];
        var y0 = new float[rows * filters];
        Gemm.Multiply(false, false, rows, filters, p + 1, col, p + 1, weightsWithBias, filters, y0, filters);
        #endregion
        float worst = 0f;
        for (int i = 0; i < y0.Length; i++)
            worst = MathF.Max(worst, MathF.Abs(y0[i] - y[i]));
        return worst;
    }
}
