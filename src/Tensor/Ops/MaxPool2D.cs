using NanoNet.Memory;
using NanoNet.Diagnostics;
using NanoNet.Autograd;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// Max pooling of NHWC images over poolHeight×poolWidth windows moved by the strides
    /// ("valid" or "same" padding). Backward routes each output gradient to the input element that won
    /// its window (the first one on ties).
    /// </summary>
    public static Tensor MaxPool2D(Tensor x, int poolHeight, int poolWidth, int strideHeight, int strideWidth, bool samePadding = false)
    {
        long started = Profiler.Start();
        if (x.Rank != 4)
            throw new ArgumentException($"MaxPool2D expects NHWC input (batch, height, width, channels), got {Shapes.Format(x.Shape)}.");
        var g = ConvGeometry.Create(x.Dim(1), x.Dim(2), x.Dim(3), poolHeight, poolWidth, strideHeight, strideWidth, samePadding);
        Tensor y = MaxPoolNhwc(x, g, [x.Dim(0), g.OutputHeight, g.OutputWidth, g.Channels]);
        // Read x, write y, and when recording the winners' positions (4-byte ints, one per output).
        Profiler.Stop("MaxPool2D", started, bytes: sizeof(float) * (x.Length + y.Length * (Tape.ShouldRecord(x) ? 2.0 : 1.0)));
        return y;
    }

    /// <summary>
    /// The max pooling <see cref="MaxPool2D"/> and <see cref="MaxPool1D"/> run: x and y read as NHWC images
    /// (a 1-D pooling's (N, T, C) is the image (N, 1, T, C)).
    /// </summary>
    private static Tensor MaxPoolNhwc(Tensor x, in ConvGeometry g, ReadOnlySpan<int> outputShape)
    {
        int batch = x.Dim(0);
        var y = Tensor.Empty(outputShape);
        bool record = Tape.ShouldRecord(x); // only backward needs the winners' positions
        int[]? argmax = record ? StepMemory.NewInts(y.Length) : null;
        MaxPoolKernels.Forward(x.Span, y.Span, argmax, batch, g);
        if (record)
            Tape.Record(MaxPoolEntry.Rent(y, x, argmax!, g), x);
        return y;
    }

    private sealed class MaxPoolEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor x = null!;
        private int[] argmax = null!;
        private ConvGeometry g;

        public static MaxPoolEntry Rent(Tensor y, Tensor x, int[] argmax, ConvGeometry g)
        {
            MaxPoolEntry entry = Rent<MaxPoolEntry>(y);
            entry.x = x;
            entry.argmax = argmax;
            entry.g = g;
            return entry;
        }

        /// <summary>Read dY and the winners' positions, read and write dX where they point (it accumulates).</summary>
        public override double BackwardBytes => sizeof(float) * (2.0 * Output.Length + 2.0 * x.Length);

        public override void Backward(Tensor dY) =>
            MaxPoolKernels.Backward(dY.Span, argmax, x.EnsureGrad().Span, x.Dim(0), g);
    }
}
