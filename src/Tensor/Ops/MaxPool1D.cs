using NanoNet.Diagnostics;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// Max pooling of sequences, Keras' <c>MaxPooling1D</c>: x (N, T, C) → (N, OT, C), the maximum of each
    /// channel over windows of <paramref name="poolSize"/> steps moved by <paramref name="stride"/> ("valid"
    /// or "same" padding; padding never wins). Backward routes each gradient to its window's winner (the
    /// first one on ties).
    /// </summary>
    /// <remarks>(N, T, C) is the NHWC image (N, 1, T, C): this runs <see cref="MaxPoolKernels"/> on a 1×T geometry.</remarks>
    public static Tensor MaxPool1D(Tensor x, int poolSize, int stride, bool samePadding = false)
    {
        long started = Profiler.Start();
        if (x.Rank != 3)
            throw new ArgumentException($"MaxPool1D expects sequences (batch, steps, channels), got {Shapes.Format(x.Shape)}.");
        var g = ConvGeometry.Create(1, x.Dim(1), x.Dim(2), 1, poolSize, 1, stride, samePadding);
        Tensor y = MaxPoolNhwc(x, g, [x.Dim(0), g.OutputWidth, g.Channels]);
        Profiler.Stop("MaxPool1D", started, 0);
        return y;
    }
}
