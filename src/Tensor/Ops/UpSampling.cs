using NanoNet.Autograd;
using NanoNet.Diagnostics;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// Upsamples NHWC images by whole factors, Keras's <c>UpSampling2D</c>: x (N, H, W, C) → (N, H·<paramref name="rowFactor"/>,
    /// W·<paramref name="columnFactor"/>, C), each pixel repeated into a block (<paramref name="bilinear"/> false, Keras's
    /// "nearest") or interpolated bilinearly with half-pixel centres (true, Keras's "bilinear", TensorFlow's <c>resize</c>).
    /// </summary>
    /// <remarks>
    /// Forward and backward are <see cref="NearestUpSamplingKernels"/> or <see cref="BilinearUpSamplingKernels"/>;
    /// backward sends each dY value back to the pixels it was read from, with the same weights.
    /// </remarks>
    /// <exception cref="ArgumentException">x is not rank 4, or a factor is below 1.</exception>
    public static Tensor UpSampling2D(Tensor x, int rowFactor, int columnFactor, bool bilinear = false)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 4)
            throw new ArgumentException($"UpSampling2D expects NHWC input (batch, height, width, channels), got {Shapes.Format(x.Shape)}.", nameof(x));
        long started = Profiler.Start();
        var g = UpSamplingGeometry.Create(x.Dim(1), x.Dim(2), x.Dim(3), rowFactor, columnFactor);
        Tensor y = UpSample(x, g, [x.Dim(0), g.OutputHeight, g.OutputWidth, g.Channels], bilinear);
        Profiler.Stop("UpSampling2D", started, 0);
        return y;
    }

    /// <summary>
    /// Repeats each step of (N, T, C) sequences <paramref name="factor"/> times, Keras's <c>UpSampling1D</c>: → (N, T·factor, C).
    /// </summary>
    /// <remarks>(N, T, C) is the image (N, 1, T, C): this runs <see cref="NearestUpSamplingKernels"/> with row factor 1.</remarks>
    /// <exception cref="ArgumentException">x is not rank 3, or the factor is below 1.</exception>
    public static Tensor UpSampling1D(Tensor x, int factor)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 3)
            throw new ArgumentException($"UpSampling1D expects sequences (batch, steps, channels), got {Shapes.Format(x.Shape)}.", nameof(x));
        long started = Profiler.Start();
        var g = UpSamplingGeometry.Create(1, x.Dim(1), x.Dim(2), 1, factor);
        Tensor y = UpSample(x, g, [x.Dim(0), g.OutputWidth, g.Channels], bilinear: false);
        Profiler.Stop("UpSampling1D", started, 0);
        return y;
    }

    private static Tensor UpSample(Tensor x, in UpSamplingGeometry g, ReadOnlySpan<int> outputShape, bool bilinear)
    {
        Tensor y = Tensor.Empty(outputShape);
        if (bilinear)
            BilinearUpSamplingKernels.Forward(x.Span, y.Span, x.Dim(0), g);
        else
            NearestUpSamplingKernels.Forward(x.Span, y.Span, x.Dim(0), g);
        if (Tape.ShouldRecord(x))
            Tape.Record(UpSamplingEntry.Rent(y, x, g, bilinear), x);
        return y;
    }

    private sealed class UpSamplingEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor x = null!;
        private UpSamplingGeometry g;
        private bool bilinear;

        public static UpSamplingEntry Rent(Tensor y, Tensor x, UpSamplingGeometry g, bool bilinear)
        {
            UpSamplingEntry entry = Rent<UpSamplingEntry>(y);
            (entry.x, entry.g, entry.bilinear) = (x, g, bilinear);
            return entry;
        }

        public override void Backward(Tensor dY)
        {
            if (bilinear)
                BilinearUpSamplingKernels.Backward(dY.Span, x.EnsureGrad().Span, x.Dim(0), g);
            else
                NearestUpSamplingKernels.Backward(dY.Span, x.EnsureGrad().Span, x.Dim(0), g);
        }
    }
}
