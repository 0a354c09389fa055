using NanoNet.Diagnostics;
using NanoNet.Autograd;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// Depthwise 2-D convolution of NHWC images, Keras' <c>DepthwiseConv2D</c>: x (N, H, W, C) with kernel
    /// (KH, KW, C, M) and bias (C·M) gives y (N, OH, OW, C·M); output channel c·M + m convolves input channel c
    /// alone with filter m (M is the depth multiplier). Strides, dilations and "valid" or "same" padding as
    /// <see cref="Conv2D(Tensor, Tensor, Tensor, ValueTuple{int, int}, ValueTuple{int, int}, ConvPadding, ActivationFunction)"/>.
    /// </summary>
    /// <remarks>A direct NHWC kernel vectorised over channels (<see cref="DepthwiseConvKernels"/>), not im2col:
    /// each output has only KH·KW inputs. Backward gives dW, db and dX (when x needs it).</remarks>
    public static Tensor DepthwiseConv2D(Tensor x, Tensor kernel, Tensor bias, (int Height, int Width) strides, (int Height, int Width) dilation,
        ConvPadding padding)
    {
        long started = Profiler.Start();
        if (x.Rank != 4)
            throw new ArgumentException($"DepthwiseConv2D expects NHWC input (batch, height, width, channels), got {Shapes.Format(x.Shape)}.");
        if (kernel.Rank != 4 || kernel.Dim(2) != x.Dim(3))
            throw new ArgumentException($"DepthwiseConv2D kernel must be (KH, KW, {x.Dim(3)}, multiplier) for input {Shapes.Format(x.Shape)}, got {Shapes.Format(kernel.Shape)}.");
        if (padding == ConvPadding.Causal)
            throw new ArgumentException("DepthwiseConv2D padding must be valid or same.", nameof(padding));
        int multiplier = kernel.Dim(3), outChannels = x.Dim(3) * multiplier;
        if (bias.Rank != 1 || bias.Length != outChannels)
            throw new ArgumentException($"DepthwiseConv2D bias must be ({outChannels}) (channels × multiplier), got {Shapes.Format(bias.Shape)}.");
        var g = ConvGeometry.Create(x.Dim(1), x.Dim(2), x.Dim(3), kernel.Dim(0), kernel.Dim(1), strides.Height, strides.Width,
            dilation.Height, dilation.Width, padding);
        int batch = x.Dim(0);
        var y = Tensor.Empty(batch, g.OutputHeight, g.OutputWidth, outChannels);
        DepthwiseConvKernels.Forward(x.Span, kernel.Span, bias.Span, y.Span, batch, multiplier, g);
        if (Tape.ShouldRecord(x, kernel) || bias.RequiresGrad && Tape.IsRecording)
            Tape.Record(DepthwiseConv2DEntry.Rent(y, x, kernel, bias, g, multiplier), x, kernel, bias);
        Profiler.Stop("DepthwiseConv2D", started, 2.0 * y.Length * g.KernelHeight * g.KernelWidth);
        return y;
    }

    private sealed class DepthwiseConv2DEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor x = null!;
        private Tensor kernel = null!;
        private Tensor bias = null!;
        private ConvGeometry g;
        private int multiplier;

        public static DepthwiseConv2DEntry Rent(Tensor y, Tensor x, Tensor kernel, Tensor bias, ConvGeometry g, int multiplier)
        {
            DepthwiseConv2DEntry entry = Rent<DepthwiseConv2DEntry>(y);
            (entry.x, entry.kernel, entry.bias, entry.g, entry.multiplier) = (x, kernel, bias, g, multiplier);
            return entry;
        }

        // dW (one multiply-add per tap and output value), plus dX when the input needs a gradient.
        public override double BackwardFlops => 2.0 * Output.Length * g.KernelHeight * g.KernelWidth * (x.RequiresGrad ? 2 : 1);

        public override void Backward(Tensor dY)
        {
            Span<float> dW = kernel.RequiresGrad ? kernel.EnsureGrad().Span : default;
            Span<float> db = bias.RequiresGrad ? bias.EnsureGrad().Span : default;
            Span<float> dX = x.RequiresGrad ? x.EnsureGrad().Span : default;
            DepthwiseConvKernels.Backward(x.Span, kernel.Span, dY.Span, dW, db, dX, x.Dim(0), multiplier, g);
        }
    }
}
