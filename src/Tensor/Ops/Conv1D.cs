using NanoNet.Diagnostics;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// 1-D convolution of sequences, Keras' <c>Conv1D</c>: x (N, T, C) with kernel (K, C, F) and bias (F) gives
    /// y (N, OT, F), with a stride, a dilation (taps <paramref name="dilation"/> steps apart) and "valid",
    /// "same" or "causal" padding (causal: (K − 1)·dilation zeros before the first step, so step t never
    /// sees a later one).
    /// </summary>
    /// <remarks>
    /// (N, T, C), (K, C, F) and (N, OT, F) are, value for value, the NHWC images (N, 1, T, C), the kernel
    /// (1, K, C, F) and the output (N, 1, OT, F), so this runs the 2-D convolution's kernels
    /// (<see cref="Conv2DKernels"/>: im2col with K·C contiguous values per row, one GEMM per chunk) on a
    /// 1×T geometry, and backward is the same too. <paramref name="activation"/>: ReLU (fused) or linear.
    /// </remarks>
    public static Tensor Conv1D(Tensor x, Tensor kernel, Tensor bias, int stride = 1, int dilation = 1, ConvPadding padding = ConvPadding.Valid,
        ActivationFunction activation = ActivationFunction.Linear)
    {
        long started = Profiler.Start();
        bool relu = FusedConvActivation("Conv1D", activation);
        if (x.Rank != 3)
            throw new ArgumentException($"Conv1D expects sequences (batch, steps, channels), got {Shapes.Format(x.Shape)}.");
        if (kernel.Rank != 3 || kernel.Dim(1) != x.Dim(2))
            throw new ArgumentException($"Conv1D kernel must be (K, {x.Dim(2)}, filters) for input {Shapes.Format(x.Shape)}, got {Shapes.Format(kernel.Shape)}.");
        var g = ConvGeometry.Create(1, x.Dim(1), x.Dim(2), 1, kernel.Dim(0), 1, stride, 1, dilation, padding);
        Tensor y = ConvolveNhwc("Conv1D", x, kernel, bias, g, [x.Dim(0), g.OutputWidth, kernel.Dim(2)], relu);
        Profiler.Stop("Conv1D", started, ConvFlops(x.Dim(0), g, kernel.Dim(2)));
        return y;
    }
}
