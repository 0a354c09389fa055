using NanoNet.Memory;
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
        ActivationFunction activation = ActivationFunction.Linear) =>
        Conv2D(x, kernel, bias, (strideHeight, strideWidth), (1, 1), samePadding ? ConvPadding.Same : ConvPadding.Valid, activation);

    /// <summary>
    /// 2-D convolution with rectangular strides and dilations (Keras' <c>dilation_rate</c>: the kernel's
    /// taps are <paramref name="dilation"/> pixels apart) and "valid" or "same" padding; otherwise as
    /// <see cref="Conv2D(Tensor, Tensor, Tensor, int, int, bool, ActivationFunction)"/>.
    /// </summary>
    public static Tensor Conv2D(Tensor x, Tensor kernel, Tensor bias, (int Height, int Width) strides, (int Height, int Width) dilation,
        ConvPadding padding, ActivationFunction activation = ActivationFunction.Linear)
    {
        long started = Profiler.Start();
        bool relu = FusedConvActivation("Conv2D", activation);
        CheckConv2DOperands(x, kernel, padding);
        var g = ConvGeometry.Create(x.Dim(1), x.Dim(2), x.Dim(3), kernel.Dim(0), kernel.Dim(1), strides.Height, strides.Width,
            dilation.Height, dilation.Width, padding);
        Tensor y = ConvolveNhwc("Conv2D", x, kernel, bias, g, [x.Dim(0), g.OutputHeight, g.OutputWidth, kernel.Dim(3)], relu);
        Profiler.Stop("Conv2D", started, ConvFlops(x.Dim(0), g, kernel.Dim(kernel.Rank - 1)));
        return y;
    }

    /// <summary>Throws unless x is NHWC, the kernel (KH, KW, C, F) with x's C, and the padding valid or same.</summary>
    private static void CheckConv2DOperands(Tensor x, Tensor kernel, ConvPadding padding)
    {
        if (x.Rank != 4)
            throw new ArgumentException($"Conv2D expects NHWC input (batch, height, width, channels), got {Shapes.Format(x.Shape)}.");
        if (kernel.Rank != 4 || kernel.Dim(2) != x.Dim(3))
            throw new ArgumentException($"Conv2D kernel must be (KH, KW, {x.Dim(3)}, filters) for input {Shapes.Format(x.Shape)}, got {Shapes.Format(kernel.Shape)}.");
        if (padding == ConvPadding.Causal)
            throw new ArgumentException("Conv2D padding must be valid or same; causal padding is for Conv1D.", nameof(padding));
    }

    /// <summary>
    /// <c>MaxPool2D(Conv2D(x, ...), ...)</c> in one pass: each chunk of images is convolved into a worker's private
    /// buffer and pooled from there, so the convolution's full output is never written to memory (at batch 256 of
    /// CIFAR-10 it is 29 MB, four times the pooled output). The result is bitwise the two ops' result. When the
    /// tape records, the pass also keeps each maximum's position, and the backward rebuilds the convolution's
    /// output gradient chunk by chunk from the pooled one (<see cref="Conv2DKernels.BackwardMaxPool"/>): the
    /// gradients are bitwise the two ops' too, and neither the convolution's output nor its gradient is ever
    /// stored for the whole batch.
    /// </summary>
    /// <param name="x">NHWC images.</param>
    /// <param name="kernel">(KH, KW, C, F).</param>
    /// <param name="bias">(F).</param>
    /// <param name="strides">The convolution's strides.</param>
    /// <param name="dilation">The convolution's dilation.</param>
    /// <param name="padding">The convolution's padding (valid or same).</param>
    /// <param name="activation">Linear or ReLU (fused, as in <see cref="Conv2D(Tensor, Tensor, Tensor, ValueTuple{int, int}, ValueTuple{int, int}, ConvPadding, ActivationFunction)"/>).</param>
    /// <param name="poolSize">The max pooling window.</param>
    /// <param name="poolStrides">The max pooling strides.</param>
    /// <param name="poolSamePadding">Whether the pooling pads "same".</param>
    public static Tensor Conv2DMaxPool2D(Tensor x, Tensor kernel, Tensor bias, (int Height, int Width) strides, (int Height, int Width) dilation,
        ConvPadding padding, ActivationFunction activation, (int Height, int Width) poolSize, (int Height, int Width) poolStrides, bool poolSamePadding)
    {
        long started = Profiler.Start();
        bool relu = FusedConvActivation("Conv2D", activation);
        CheckConv2DOperands(x, kernel, padding);
        int filters = kernel.Dim(3);
        if (bias.Rank != 1 || bias.Length != filters)
            throw new ArgumentException($"Conv2D bias must be ({filters}), got {Shapes.Format(bias.Shape)}.");
        var g = ConvGeometry.Create(x.Dim(1), x.Dim(2), x.Dim(3), kernel.Dim(0), kernel.Dim(1), strides.Height, strides.Width,
            dilation.Height, dilation.Width, padding);
        var pool = ConvGeometry.Create(g.OutputHeight, g.OutputWidth, filters, poolSize.Height, poolSize.Width,
            poolStrides.Height, poolStrides.Width, poolSamePadding);
        var y = Tensor.Empty(x.Dim(0), pool.OutputHeight, pool.OutputWidth, filters);
        bool record = Tape.ShouldRecord(x, kernel) || bias.RequiresGrad && Tape.IsRecording;
        int[]? argmax = record ? StepMemory.NewInts(y.Length) : null; // only backward needs the winners' positions
        Conv2DKernels.ForwardMaxPool(x.Span, kernel.Span, bias.Span, y.Span, argmax, x.Dim(0), filters, g, relu, pool);
        if (record)
            Tape.Record(ConvMaxPoolEntry.Rent(y, x, kernel, bias, argmax!, g, pool), x, kernel, bias);
        Profiler.Stop("Conv2D+MaxPool2D", started, ConvFlops(x.Dim(0), g, filters));
        return y;
    }

    private sealed class ConvMaxPoolEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor x = null!;
        private Tensor kernel = null!;
        private Tensor bias = null!;
        private int[] argmax = null!;
        private ConvGeometry g;
        private ConvGeometry pool;

        // With the ReLU, argmax also holds its derivative (Conv2DKernels.ZeroedWindow): the backward reads neither y nor a flag.
        public static ConvMaxPoolEntry Rent(Tensor y, Tensor x, Tensor kernel, Tensor bias, int[] argmax, ConvGeometry g, ConvGeometry pool)
        {
            ConvMaxPoolEntry entry = Rent<ConvMaxPoolEntry>(y);
            entry.x = x;
            entry.kernel = kernel;
            entry.bias = bias;
            entry.argmax = argmax;
            entry.g = g;
            entry.pool = pool;
            return entry;
        }

        // As ConvEntry: [dW; db] = colᵀ·dZ over every convolution output row, plus dcol = dZ·Wᵀ when the input needs a gradient.
        public override double BackwardFlops =>
            2.0 * x.Dim(0) * g.OutputPixels * pool.Channels * (g.PatchSize + 1 + (x.RequiresGrad ? g.PatchSize : 0));

        public override void Backward(Tensor dY)
        {
            Span<float> dW = kernel.RequiresGrad ? kernel.EnsureGrad().Span : default;
            Span<float> db = bias.RequiresGrad ? bias.EnsureGrad().Span : default;
            bool overwrite = false; // a new dX is not cleared first: each chunk of the kernel clears its own images (see Backward)
            Span<float> dX = x.RequiresGrad ? x.GradForFirstWrite(out overwrite).Span : default;
            Conv2DKernels.BackwardMaxPool(x.Span, kernel.Span, argmax, dY.Span, dW, db, dX, x.Dim(0), pool.Channels, g, pool, overwrite);
        }
    }

    /// <summary>Whether <paramref name="activation"/> is the fused ReLU; throws for activations a convolution cannot fuse.</summary>
    private static bool FusedConvActivation(string op, ActivationFunction activation)
    {
        if (!ActivationFusion.CanRunInsideOp(activation))
            throw new ArgumentException($"{op} fuses only {ActivationFusion.InsideOp(ActivationFunction.Relu)}; apply {activation} with Ops.Activate (see ActivationFusion).", nameof(activation));
        return activation == ActivationFunction.Relu;
    }

    /// <summary>Forward multiply-adds of a convolution (the bias as one more column), as 2 flops each.</summary>
    private static double ConvFlops(int batch, in ConvGeometry g, int filters) => 2.0 * batch * g.OutputPixels * (g.PatchSize + 1) * filters;

    /// <summary>
    /// The convolution both <see cref="Conv2D(Tensor, Tensor, Tensor, int, int, bool, ActivationFunction)"/> and
    /// <see cref="Conv1D"/> run: x, kernel and y are read as NHWC images, a (KH, KW, C, F) kernel and
    /// (N, OH, OW, F) (a Conv1D's (N, T, C), (K, C, F) and (N, OT, F) have exactly that memory layout with H = 1).
    /// </summary>
    private static Tensor ConvolveNhwc(string op, Tensor x, Tensor kernel, Tensor bias, in ConvGeometry g, ReadOnlySpan<int> outputShape, bool relu)
    {
        int filters = kernel.Dim(kernel.Rank - 1);
        if (bias.Rank != 1 || bias.Length != filters)
            throw new ArgumentException($"{op} bias must be ({filters}), got {Shapes.Format(bias.Shape)}.");
        int batch = x.Dim(0);
        var y = Tensor.Empty(outputShape);
        bool record = Tape.ShouldRecord(x, kernel) || bias.RequiresGrad && Tape.IsRecording;
        // A stem (no input gradient) keeps its ReLU's derivative as bits: its backward reads them instead of y (ReluBits).
        int bitsLength = record && relu && !x.RequiresGrad && Conv2DKernels.KeepsReluBits(g, filters)
            ? ReluBits.Length((long)batch * g.OutputPixels, filters) : 0;
        int[]? reluBits = bitsLength > 0 ? StepMemory.NewInts(bitsLength) : null;
        Conv2DKernels.Forward(x.Span, kernel.Span, bias.Span, y.Span, batch, filters, g, relu, reluBits.AsSpan(0, bitsLength));
        if (record)
            Tape.Record(ConvEntry.Rent(y, x, kernel, bias, g, batch, filters, relu, reluBits), x, kernel, bias);
        return y;
    }

    private sealed class ConvEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor x = null!;
        private Tensor kernel = null!;
        private Tensor bias = null!;
        private ConvGeometry g;
        private int batch;
        private int filters;
        private bool relu;
        private int[]? reluBits;

        public static ConvEntry Rent(Tensor y, Tensor x, Tensor kernel, Tensor bias, ConvGeometry g, int batch, int filters, bool relu, int[]? reluBits)
        {
            ConvEntry entry = Rent<ConvEntry>(y);
            entry.x = x;
            entry.kernel = kernel;
            entry.bias = bias;
            entry.g = g;
            entry.batch = batch;
            entry.filters = filters;
            entry.relu = relu;
            entry.reluBits = reluBits;
            return entry;
        }

        // [dW; db] = colᵀ·dZ over every row, plus dcol = dZ·Wᵀ when the input needs a gradient.
        public override double BackwardFlops => 2.0 * batch * g.OutputPixels * filters * (g.PatchSize + 1 + (x.RequiresGrad ? g.PatchSize : 0));

        public override void Backward(Tensor dY)
        {
            Span<float> dW = kernel.RequiresGrad ? kernel.EnsureGrad().Span : default;
            Span<float> db = bias.RequiresGrad ? bias.EnsureGrad().Span : default;
            bool overwrite = false; // the image input usually needs no dX; a new one is cleared chunk by chunk in the kernel
            Span<float> dX = x.RequiresGrad ? x.GradForFirstWrite(out overwrite).Span : default;
            ReadOnlySpan<int> bits = reluBits == null ? default : reluBits.AsSpan(0, ReluBits.Length((long)batch * g.OutputPixels, filters));
            Conv2DKernels.Backward(x.Span, kernel.Span, Output.Span, dY.Span, dW, db, dX, batch, filters, g, relu, overwrite, bits);
        }
    }
}
