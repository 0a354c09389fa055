namespace NanoNet.Layers;

/// <summary>
/// 2-D convolution layer, Keras style: <c>Conv2D(filters, kernel, stride, padding, activation)</c> on
/// (batch, height, width, channels) images. Kernel (KH, KW, C, filters), Glorot-uniform with
/// fan-in = KH·KW·C and fan-out = KH·KW·filters; bias zero.
/// </summary>
public sealed class Conv2D : Layer, IActivatedLayer
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
        ActivationFunction activation = ActivationFunction.Linear, string? name = null) : base(name)
    {
        if (filters < 1) throw new ArgumentOutOfRangeException(nameof(filters), filters, "Conv2D needs at least one filter.");
        if (kernelSize < 1) throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize, "The kernel size must be positive.");
        if (stride < 1) throw new ArgumentOutOfRangeException(nameof(stride), stride, "The stride must be positive.");
        Filters = filters;
        KernelSize = kernelSize;
        Stride = stride;
        SamePadding = padding switch
        {
            "valid" => false,
            "same" => true,
            _ => throw new ArgumentException($"Conv2D padding must be \"valid\" or \"same\", got \"{padding}\".", nameof(padding)),
        };
        Activation = activation;
    }

    /// <summary>Output channels.</summary>
    public int Filters { get; }

    /// <summary>Kernel height and width.</summary>
    public int KernelSize { get; }

    /// <summary>Stride in both directions.</summary>
    public int Stride { get; }

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

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape)
    {
        if (inputShape.Length != 3)
            throw new ArgumentException($"Layer '{Name}' (Conv2D) expects images of shape (height, width, channels), got per-example shape {Shapes.Format(inputShape)}.");
        int channels = inputShape[2];
        var g = Kernels.ConvGeometry.Create(inputShape[0], inputShape[1], channels, KernelSize, KernelSize, Stride, Stride, SamePadding);
        int receptive = KernelSize * KernelSize;
        _kernel = AddWeight("kernel", [KernelSize, KernelSize, channels, Filters],
            (w, rng) => Initializers.GlorotUniform(w, receptive * channels, receptive * Filters, rng));
        _bias = AddWeight("bias", [Filters], Zeros);
        return [g.OutputHeight, g.OutputWidth, Filters];
    }

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training) => Ops.Activate(
        Ops.Conv2D(x, Kernel, Bias, Stride, Stride, SamePadding, ActivationFusion.InsideOp(Activation)), ActivationFusion.AfterOp(Activation));

    /// <inheritdoc />
    public Tensor ForwardPreActivation(Tensor x, bool training) => Ops.Conv2D(x, Kernel, Bias, Stride, Stride, SamePadding);

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().Set("filters", Filters).Set("kernel_size", KernelSize)
        .Set("strides", Stride).Set("padding", SamePadding ? "same" : "valid").Set("activation", ActivationNames.Of(Activation));

    /// <inheritdoc />
    public override string Describe() => $"{Filters} filters {KernelSize}x{KernelSize}, stride {Stride}, {(SamePadding ? "same" : "valid")}";
}
