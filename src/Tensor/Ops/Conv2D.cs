using NanoNet.Diagnostics;
using NanoNet.Autograd;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// 2-D convolution of NHWC images: x (N, H, W, C) with kernel (KH, KW, C, F) and bias (F) gives
    /// y (N, OH, OW, F). Padding is Keras' "valid" or "same" (<paramref name="samePadding"/>).
    /// </summary>
    /// <remarks>
    /// Forward lowers to GEMM: y = im2col(x)·W + b. Backward: dW = colᵀ·dY, db = Σ dY, dX = col2im(dY·Wᵀ)
    /// (see <see cref="Conv2DKernels"/>), chunk by chunk: the im2col matrix is never stored whole.
    /// <paramref name="activation"/> may be <see cref="ActivationFunction.Relu"/>, fused into the kernel
    /// (applied chunk by chunk while the output is in cache; its backward masks dY the same way), or
    /// <see cref="ActivationFunction.Linear"/>; other activations are separate ops.
    /// </remarks>
    public static Tensor Conv2D(Tensor x, Tensor kernel, Tensor bias, int strideHeight = 1, int strideWidth = 1, bool samePadding = false,
        ActivationFunction activation = ActivationFunction.Linear)
    {
        long started = Profiler.Start();
        if (!ActivationFusion.CanRunInsideOp(activation))
            throw new ArgumentException($"Conv2D fuses only {ActivationFusion.InsideOp(ActivationFunction.Relu)}; apply {activation} with Ops.Activate (see ActivationFusion).", nameof(activation));
        bool relu = activation == ActivationFunction.Relu;
        if (x.Rank != 4)
            throw new ArgumentException($"Conv2D expects NHWC input (batch, height, width, channels), got {Shapes.Format(x.Shape)}.");
        if (kernel.Rank != 4 || kernel.Dim(2) != x.Dim(3))
            throw new ArgumentException($"Conv2D kernel must be (KH, KW, {x.Dim(3)}, filters) for input {Shapes.Format(x.Shape)}, got {Shapes.Format(kernel.Shape)}.");
        int filters = kernel.Dim(3);
        if (bias.Rank != 1 || bias.Length != filters)
            throw new ArgumentException($"Conv2D bias must be ({filters}), got {Shapes.Format(bias.Shape)}.");
        var g = ConvGeometry.Create(x.Dim(1), x.Dim(2), x.Dim(3), kernel.Dim(0), kernel.Dim(1), strideHeight, strideWidth, samePadding);
        int batch = x.Dim(0);
        var y = Tensor.Empty(batch, g.OutputHeight, g.OutputWidth, filters);
        Conv2DKernels.Forward(x.Span, kernel.Span, bias.Span, y.Span, batch, filters, g, relu);
        if (Tape.ShouldRecord(x, kernel) || bias.RequiresGrad && Tape.IsRecording)
            Tape.Record(new Conv2DEntry(y, x, kernel, bias, g, relu), x, kernel, bias);
        Profiler.Stop("Conv2D", started, 2.0 * batch * g.OutputPixels * (g.PatchSize + 1) * filters);
        return y;
    }

    private sealed class Conv2DEntry(Tensor y, Tensor x, Tensor kernel, Tensor bias, ConvGeometry g, bool relu) : TapeEntry(y)
    {
        // [dW; db] = colᵀ·dZ over every row, plus dcol = dZ·Wᵀ when the input needs a gradient.
        public override double BackwardFlops => 2.0 * x.Dim(0) * g.OutputPixels * kernel.Dim(3) * (g.PatchSize + 1 + (x.RequiresGrad ? g.PatchSize : 0));

        public override void Backward(Tensor dY)
        {
            Span<float> dW = kernel.RequiresGrad ? kernel.EnsureGrad().Span : default;
            Span<float> db = bias.RequiresGrad ? bias.EnsureGrad().Span : default;
            Span<float> dX = x.RequiresGrad ? x.EnsureGrad().Span : default; // the image input usually needs none
            Conv2DKernels.Backward(x.Span, kernel.Span, Output.Span, dY.Span, dW, db, dX, x.Dim(0), kernel.Dim(3), g, relu);
        }
    }
}
