using NanoNet.Diagnostics;
using NanoNet.Autograd;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// Average pooling of NHWC images over poolHeight×poolWidth windows moved by the strides ("valid" or
    /// "same" padding). As in Keras, a "same" window that overhangs the edge averages only the pixels
    /// inside the image. Backward spreads each output gradient evenly over its window's pixels.
    /// </summary>
    public static Tensor AveragePool2D(Tensor x, int poolHeight, int poolWidth, int strideHeight, int strideWidth, bool samePadding = false)
    {
        long started = Profiler.Start();
        if (x.Rank != 4)
            throw new ArgumentException($"AveragePool2D expects NHWC input (batch, height, width, channels), got {Shapes.Format(x.Shape)}.");
        var g = ConvGeometry.Create(x.Dim(1), x.Dim(2), x.Dim(3), poolHeight, poolWidth, strideHeight, strideWidth, samePadding);
        Tensor y = AveragePoolNhwc(x, g, [x.Dim(0), g.OutputHeight, g.OutputWidth, g.Channels]);
        Profiler.Stop("AveragePool2D", started, 0);
        return y;
    }

    /// <summary>
    /// Average pooling of sequences, Keras' <c>AveragePooling1D</c>: x (N, T, C) → (N, OT, C), the mean of each
    /// channel over windows of <paramref name="poolSize"/> steps moved by <paramref name="stride"/> ("same"
    /// windows count only the steps inside the sequence).
    /// </summary>
    /// <remarks>(N, T, C) is the NHWC image (N, 1, T, C): this runs <see cref="AvgPoolKernels"/> on a 1×T geometry.</remarks>
    public static Tensor AveragePool1D(Tensor x, int poolSize, int stride, bool samePadding = false)
    {
        long started = Profiler.Start();
        if (x.Rank != 3)
            throw new ArgumentException($"AveragePool1D expects sequences (batch, steps, channels), got {Shapes.Format(x.Shape)}.");
        var g = ConvGeometry.Create(1, x.Dim(1), x.Dim(2), 1, poolSize, 1, stride, samePadding);
        Tensor y = AveragePoolNhwc(x, g, [x.Dim(0), g.OutputWidth, g.Channels]);
        Profiler.Stop("AveragePool1D", started, 0);
        return y;
    }

    private static Tensor AveragePoolNhwc(Tensor x, in ConvGeometry g, ReadOnlySpan<int> outputShape)
    {
        var y = Tensor.Empty(outputShape);
        AvgPoolKernels.Forward(x.Span, y.Span, x.Dim(0), g);
        if (Tape.ShouldRecord(x))
            Tape.Record(AveragePoolEntry.Rent(y, x, g), x);
        return y;
    }

    private sealed class AveragePoolEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor x = null!;
        private ConvGeometry g;

        public static AveragePoolEntry Rent(Tensor y, Tensor x, ConvGeometry g)
        {
            AveragePoolEntry entry = Rent<AveragePoolEntry>(y);
            (entry.x, entry.g) = (x, g);
            return entry;
        }

        public override void Backward(Tensor dY) => AvgPoolKernels.Backward(dY.Span, x.EnsureGrad().Span, x.Dim(0), g);
    }
}
