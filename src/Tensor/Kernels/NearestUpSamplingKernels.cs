using System.Numerics.Tensors;

namespace NanoNet.Kernels;

/// <summary>
/// Nearest-neighbour upsampling of NHWC images by whole factors (Keras's <c>UpSampling2D</c> default, and
/// <c>UpSampling1D</c>): every pixel becomes a RowFactor × ColumnFactor block of copies of itself.
/// </summary>
/// <remarks>
/// <para>
/// Shape legend: x and dX are N×H×W×C, y and dY are N×(H·sh)×(W·sw)×C (sh, sw = RowFactor, ColumnFactor).
/// Forward: y[n, oh, ow, c] = x[n, ⌊oh/sh⌋, ⌊ow/sw⌋, c]. Backward: each input pixel fed its whole block, so
/// dX[n, h, w, c] += Σ over the block's sh·sw output pixels of dY, summed row by row, left to right.
/// </para>
/// <para>
/// Forward builds the first output row of each input row (each pixel's C-long run copied sw times) and copies
/// that whole row sh − 1 times. Images are independent and split across threads whole, so results are the same
/// at any thread count. <see cref="UpSamplingReference"/> is the naive twin the tests compare against.
/// </para>
/// </remarks>
public static unsafe class NearestUpSamplingKernels
{
    /// <summary>y = x with every pixel repeated into its block.</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, int batch, in UpSamplingGeometry g)
    {
        Check(x.Length, y.Length, batch, g);
        UpSamplingJob<NearestImage>.Forward(x, y, batch, g);
    }

    /// <summary>dX += the sum of dY over each pixel's block.</summary>
    public static void Backward(ReadOnlySpan<float> dY, Span<float> dX, int batch, in UpSamplingGeometry g)
    {
        Check(dX.Length, dY.Length, batch, g);
        UpSamplingJob<NearestImage>.Backward(dY, dX, batch, g);
    }

    /// <summary>Forward for one image.</summary>
    public static void ForwardImage(ReadOnlySpan<float> x, Span<float> y, in UpSamplingGeometry g)
    {
        int c = g.Channels, rowLength = g.OutputWidth * c;
        for (int h = 0; h < g.Height; h++)
        {
            Span<float> firstRow = y.Slice(h * g.RowFactor * rowLength, rowLength);
            for (int w = 0; w < g.Width; w++)
            {
                ReadOnlySpan<float> pixel = x.Slice((h * g.Width + w) * c, c);
                for (int k = 0; k < g.ColumnFactor; k++)
                    pixel.CopyTo(firstRow.Slice((w * g.ColumnFactor + k) * c, c));
            }
            for (int r = 1; r < g.RowFactor; r++)
                firstRow.CopyTo(y.Slice((h * g.RowFactor + r) * rowLength, rowLength));
        }
    }

    /// <summary>Backward for one image.</summary>
    public static void BackwardImage(ReadOnlySpan<float> dY, Span<float> dX, in UpSamplingGeometry g)
    {
        int c = g.Channels;
        for (int h = 0; h < g.Height; h++)
            for (int w = 0; w < g.Width; w++)
            {
                Span<float> target = dX.Slice((h * g.Width + w) * c, c);
                for (int r = 0; r < g.RowFactor; r++)
                {
                    int outputRow = h * g.RowFactor + r;
                    for (int k = 0; k < g.ColumnFactor; k++)
                        TensorPrimitives.Add(target, dY.Slice((outputRow * g.OutputWidth + w * g.ColumnFactor + k) * c, c), target);
                }
            }
    }

    /// <summary>The spans must hold N whole input and output images.</summary>
    internal static void Check(int input, int output, int batch, in UpSamplingGeometry g)
    {
        if (input != (long)batch * g.InputImageSize || output != (long)batch * g.OutputImageSize)
            throw new ArgumentException($"UpSampling kernels: spans of {input} and {output} values do not hold {batch} images of {g.Height}×{g.Width}×{g.Channels} " +
                $"and {g.OutputHeight}×{g.OutputWidth}×{g.Channels}.");
    }
}

/// <summary>Nearest upsampling of one image, for <see cref="UpSamplingJob{TImage}"/>.</summary>
internal readonly struct NearestImage : IUpSamplingImage
{
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, in UpSamplingGeometry g) => NearestUpSamplingKernels.ForwardImage(x, y, g);

    public static void Backward(ReadOnlySpan<float> dY, Span<float> dX, in UpSamplingGeometry g) => NearestUpSamplingKernels.BackwardImage(dY, dX, g);
}
