using System.Numerics.Tensors;

namespace NanoNet.Kernels;

/// <summary>
/// Bilinear upsampling of NHWC images by whole factors with half-pixel centres: Keras's
/// <c>UpSampling2D(interpolation="bilinear")</c>, which runs TensorFlow's <c>image.resize</c> (half_pixel_centers,
/// no antialiasing; antialiasing only matters when shrinking). ONNX: <c>Resize</c>, mode linear,
/// coordinate_transformation_mode half_pixel.
/// </summary>
/// <remarks>
/// <para>
/// Shape legend: x and dX are N×H×W×C, y and dY are N×(H·sh)×(W·sw)×C. Output row oh reads input rows h0 and
/// h1 with weight fh of h1 (<see cref="UpSamplingGeometry.BilinearSource"/>), output column ow reads columns w0
/// and w1 with weight fw of w1. Forward:
/// y[oh, ow] = (1−fh)(1−fw)·x[h0, w0] + (1−fh)fw·x[h0, w1] + fh(1−fw)·x[h1, w0] + fh·fw·x[h1, w1],
/// each term a C-long run. Backward sends dY[oh, ow] back along the same four weights:
/// dX[h0, w0] += (1−fh)(1−fw)·dY[oh, ow], and so on, output pixel by output pixel in order.
/// </para>
/// <para>
/// The centres of output pixels sit at (o + ½)/s − ½ in input coordinates, so for a factor 2 the outputs fall a
/// quarter pixel either side of each input pixel; at the borders the coordinate is clamped, so the outermost
/// outputs copy the edge pixel. Images are independent and split across threads whole: results are the same at
/// any thread count. <see cref="UpSamplingReference"/> is the naive twin the tests compare against.
/// </para>
/// </remarks>
public static unsafe class BilinearUpSamplingKernels
{
    /// <summary>y = the bilinear interpolation of x at each output pixel's half-pixel centre.</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, int batch, in UpSamplingGeometry g)
    {
        NearestUpSamplingKernels.Check(x.Length, y.Length, batch, g);
        UpSamplingJob<BilinearImage>.Forward(x, y, batch, g);
    }

    /// <summary>dX += each dY run spread over its four source pixels with the forward's weights.</summary>
    public static void Backward(ReadOnlySpan<float> dY, Span<float> dX, int batch, in UpSamplingGeometry g)
    {
        NearestUpSamplingKernels.Check(dX.Length, dY.Length, batch, g);
        UpSamplingJob<BilinearImage>.Backward(dY, dX, batch, g);
    }

    /// <summary>Forward for one image.</summary>
    public static void ForwardImage(ReadOnlySpan<float> x, Span<float> y, in UpSamplingGeometry g)
    {
        int c = g.Channels;
        for (int oh = 0; oh < g.OutputHeight; oh++)
        {
            var (h0, h1, fh) = UpSamplingGeometry.BilinearSource(oh, g.RowFactor, g.Height);
            for (int ow = 0; ow < g.OutputWidth; ow++)
            {
                var (w0, w1, fw) = UpSamplingGeometry.BilinearSource(ow, g.ColumnFactor, g.Width);
                Span<float> target = y.Slice((oh * g.OutputWidth + ow) * c, c);
                TensorPrimitives.Multiply(x.Slice((h0 * g.Width + w0) * c, c), (1f - fh) * (1f - fw), target);
                TensorPrimitives.MultiplyAdd(x.Slice((h0 * g.Width + w1) * c, c), (1f - fh) * fw, target, target);
                TensorPrimitives.MultiplyAdd(x.Slice((h1 * g.Width + w0) * c, c), fh * (1f - fw), target, target);
                TensorPrimitives.MultiplyAdd(x.Slice((h1 * g.Width + w1) * c, c), fh * fw, target, target);
            }
        }
    }

    /// <summary>Backward for one image.</summary>
    public static void BackwardImage(ReadOnlySpan<float> dY, Span<float> dX, in UpSamplingGeometry g)
    {
        int c = g.Channels;
        for (int oh = 0; oh < g.OutputHeight; oh++)
        {
            var (h0, h1, fh) = UpSamplingGeometry.BilinearSource(oh, g.RowFactor, g.Height);
            for (int ow = 0; ow < g.OutputWidth; ow++)
            {
                var (w0, w1, fw) = UpSamplingGeometry.BilinearSource(ow, g.ColumnFactor, g.Width);
                ReadOnlySpan<float> upstream = dY.Slice((oh * g.OutputWidth + ow) * c, c);
                Spread(upstream, (1f - fh) * (1f - fw), dX.Slice((h0 * g.Width + w0) * c, c));
                Spread(upstream, (1f - fh) * fw, dX.Slice((h0 * g.Width + w1) * c, c));
                Spread(upstream, fh * (1f - fw), dX.Slice((h1 * g.Width + w0) * c, c));
                Spread(upstream, fh * fw, dX.Slice((h1 * g.Width + w1) * c, c));
            }
        }
    }

    /// <summary>target += weight · upstream.</summary>
    private static void Spread(ReadOnlySpan<float> upstream, float weight, Span<float> target) =>
        TensorPrimitives.MultiplyAdd(upstream, weight, target, target);
}

/// <summary>Bilinear upsampling of one image, for <see cref="UpSamplingJob{TImage}"/>.</summary>
internal readonly struct BilinearImage : IUpSamplingImage
{
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, in UpSamplingGeometry g) => BilinearUpSamplingKernels.ForwardImage(x, y, g);

    public static void Backward(ReadOnlySpan<float> dY, Span<float> dX, in UpSamplingGeometry g) => BilinearUpSamplingKernels.BackwardImage(dY, dX, g);
}
