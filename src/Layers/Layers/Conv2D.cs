using NanoNet.Kernels;

namespace NanoNet.Layers;

/// <summary>
/// 2-D convolution layer, Keras style: <c>Conv2D(filters, kernel_size, strides, padding, dilation_rate, activation)</c>
/// on (batch, height, width, channels) images. Kernel (KH, KW, C, filters), Glorot-uniform with
/// fan-in = KH·KW·C and fan-out = KH·KW·filters; bias zero. Kernels, strides and dilations may be rectangular.
/// </summary>
public sealed class Conv2D : Layer, IActivatedLayer, IFoldableLinearLayer
{
    private Tensor? _kernel, _bias;

    /// <summary>Creates a convolution with a square kernel and stride.</summary>
    /// <param name="filters">Output channels.</param>
    /// <param name="kernelSize">Kernel height and width.</param>
    /// <param name="stride">Step between windows.</param>
    /// <param name="padding">"valid" (no padding, Keras' default) or "same" (output = ⌈input / stride⌉).</param>
    /// <param name="activation">Applied to the output.</param>
    /// <param name="name">Layer name.</param>
    public Conv2D(int filters, int kernelSize, int stride = 1, string padding = "valid",
        ActivationFunction activation = ActivationFunction.Linear, string? name = null)
        : this(filters, (kernelSize, kernelSize), (stride, stride), padding, activation, null, name)
    {
    }

    /// <summary>Creates a convolution with a (height, width) kernel, strides and dilation rate, as Keras's tuples.</summary>
    /// <param name="filters">Output channels.</param>
    /// <param name="kernelSize">Kernel height and width.</param>
    /// <param name="strides">Steps between windows down and across (default 1, 1).</param>
    /// <param name="padding">"valid" (no padding, Keras' default) or "same" (output = ⌈input / stride⌉, the odd row and column at the bottom and right).</param>
    /// <param name="activation">Applied to the output.</param>
    /// <param name="dilationRate">Pixels between the kernel's taps down and across (default 1, 1: a plain convolution).</param>
    /// <param name="name">Layer name.</param>
    public Conv2D(int filters, (int Height, int Width) kernelSize, (int Height, int Width)? strides = null, string padding = "valid",
        ActivationFunction activation = ActivationFunction.Linear, (int Height, int Width)? dilationRate = null, string? name = null) : base(name)
    {
        if (filters < 1) throw new ArgumentOutOfRangeException(nameof(filters), filters, "Conv2D needs at least one filter.");
        KernelSize = ConvLayerArguments.Positive("Conv2D", nameof(kernelSize), kernelSize);
        Strides = ConvLayerArguments.Positive("Conv2D", nameof(strides), strides ?? (1, 1));
        DilationRate = ConvLayerArguments.Positive("Conv2D", nameof(dilationRate), dilationRate ?? (1, 1));
        Filters = filters;
        SamePadding = ConvLayerArguments.Parse("Conv2D", padding) == ConvPadding.Same;
        Activation = activation;
    }

    /// <summary>Output channels.</summary>
    public int Filters { get; }

    /// <summary>Kernel height and width.</summary>
    public (int Height, int Width) KernelSize { get; }

    /// <summary>Steps between windows down and across.</summary>
    public (int Height, int Width) Strides { get; }

    /// <summary>Pixels between the kernel's taps down and across (1, 1 for a plain convolution).</summary>
    public (int Height, int Width) DilationRate { get; }

    /// <summary>Whether padding is "same" (else "valid").</summary>
    public bool SamePadding { get; }

    /// <inheritdoc />
    public ActivationFunction Activation { get; }

    /// <summary>The kernel, shape (KH, KW, C, filters).</summary>
    public Tensor Kernel => _kernel ?? throw new InvalidOperationException($"Layer '{Name}' is not built.");

    /// <summary>The bias, shape (filters).</summary>
    public Tensor Bias => _bias ?? throw new InvalidOperationException($"Layer '{Name}' is not built.");

    /// <inheritdoc />
    protected internal override string DefaultName => "conv2d";

    private ConvPadding Padding => SamePadding ? ConvPadding.Same : ConvPadding.Valid;

    /// <summary>The geometry of this layer on a per-example input (height, width, channels).</summary>
    internal ConvGeometry Geometry(ReadOnlySpan<int> inputShape) =>
        ConvLayerArguments.ImageGeometry(this, "Conv2D", inputShape, KernelSize, Strides, DilationRate, SamePadding);

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape)
    {
        ConvGeometry g = Geometry(inputShape);
        int channels = inputShape[2];
        int receptive = KernelSize.Height * KernelSize.Width;
        _kernel = AddWeight("kernel", [KernelSize.Height, KernelSize.Width, channels, Filters],
            (w, rng) => Initializers.GlorotUniform(w, receptive * channels, receptive * Filters, rng));
        _bias = AddWeight("bias", [Filters], Zeros);
        return [g.OutputHeight, g.OutputWidth, Filters];
    }

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training) => Ops.Activate(
        Ops.Conv2D(x, Kernel, Bias, Strides, DilationRate, Padding, ActivationFusion.InsideOp(Activation)), ActivationFusion.AfterOp(Activation));

    /// <inheritdoc />
    public Tensor ForwardPreActivation(Tensor x, bool training) => Ops.Conv2D(x, Kernel, Bias, Strides, DilationRate, Padding);

    /// <summary>Whether <see cref="ForwardMaxPooled"/> can run this layer (its activation fuses into the convolution).</summary>
    internal bool CanFuseMaxPool => ActivationFusion.AfterOp(Activation) == ActivationFunction.Linear;

    /// <summary>
    /// This layer followed by <paramref name="pool"/> in one pass (<see cref="Ops.Conv2DMaxPool2D"/>): what a
    /// model runs, in training and at inference, when the pooling is the only reader of this layer's output.
    /// </summary>
    internal Tensor ForwardMaxPooled(Tensor x, MaxPool2D pool)
    {
        CheckInput(x);
        return Ops.Conv2DMaxPool2D(x, Kernel, Bias, Strides, DilationRate, Padding, ActivationFusion.InsideOp(Activation),
            pool.PoolSize, pool.Strides, pool.SamePadding);
    }

    /// <inheritdoc />
    Tensor IFoldableLinearLayer.ForwardWith(Tensor x, Tensor kernel, Tensor bias) => Ops.Activate(
        Ops.Conv2D(x, kernel, bias, Strides, DilationRate, Padding, ActivationFusion.InsideOp(Activation)), ActivationFusion.AfterOp(Activation));

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().Set("filters", Filters)
        .Set("kernel_size", [KernelSize.Height, KernelSize.Width]).Set("strides", [Strides.Height, Strides.Width])
        .Set("padding", SamePadding ? "same" : "valid").Set("dilation_rate", [DilationRate.Height, DilationRate.Width])
        .Set("activation", ActivationNames.Of(Activation));

    /// <inheritdoc />
    public override string Describe() => $"{Filters} filters {KernelSize.Height}x{KernelSize.Width}, stride {Strides.Height}x{Strides.Width}"
        + (DilationRate != (1, 1) ? $", dilation {DilationRate.Height}x{DilationRate.Width}" : "") + $", {(SamePadding ? "same" : "valid")}";
}
