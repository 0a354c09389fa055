using NanoNet.Kernels;

namespace NanoNet.Layers;

/// <summary>
/// Keras's <c>DepthwiseConv2D(kernel_size, strides, padding, depth_multiplier, dilation_rate, activation)</c>
/// on (batch, height, width, channels) images: each input channel is convolved with its own
/// <see cref="DepthMultiplier"/> filters, never mixed with the others; output channel c·M + m comes from
/// input channel c and filter m. Kernel (KH, KW, C, M) named <c>depthwise_kernel</c> as in Keras,
/// Glorot-uniform with fan-in = KH·KW·C and fan-out = KH·KW·M (Keras's fans for that shape); bias (C·M) zero.
/// </summary>
/// <remarks>
/// <para>Why DepthwiseConv2D and not SeparableConv2D: a separable convolution is exactly a depthwise one
/// followed by a 1×1 <see cref="Conv2D"/> (pointwise), so the depthwise convolution is the primitive. Write
/// <c>SeparableConv2D(f, k)</c> as <c>DepthwiseConv2D(k)</c> then <c>Conv2D(f, 1)</c> (the same function and
/// parameter count, with a bias on the depthwise part too); the reverse is not possible, and MobileNet-style
/// blocks put batch normalization and an activation between the two halves, which a fused layer would hide.</para>
/// <para>Runs <see cref="Ops.DepthwiseConv2D"/>, a direct NHWC kernel vectorised over channels. Exports to
/// ONNX as <c>Conv</c> with group = C.</para>
/// </remarks>
public sealed class DepthwiseConv2D : Layer, IActivatedLayer
{
    private Tensor? _kernel, _bias;

    /// <summary>Creates a depthwise convolution with a square kernel and stride.</summary>
    /// <param name="kernelSize">Kernel height and width.</param>
    /// <param name="stride">Step between windows.</param>
    /// <param name="padding">"valid" (Keras' default) or "same".</param>
    /// <param name="depthMultiplier">Filters per input channel (output channels = C · multiplier).</param>
    /// <param name="activation">Applied to the output.</param>
    /// <param name="name">Layer name.</param>
    public DepthwiseConv2D(int kernelSize, int stride = 1, string padding = "valid", int depthMultiplier = 1,
        ActivationFunction activation = ActivationFunction.Linear, string? name = null)
        : this((kernelSize, kernelSize), (stride, stride), padding, depthMultiplier, activation, null, name)
    {
    }

    /// <summary>Creates a depthwise convolution with a (height, width) kernel, strides and dilation rate.</summary>
    /// <param name="kernelSize">Kernel height and width.</param>
    /// <param name="strides">Steps between windows down and across (default 1, 1).</param>
    /// <param name="padding">"valid" (Keras' default) or "same".</param>
    /// <param name="depthMultiplier">Filters per input channel (output channels = C · multiplier).</param>
    /// <param name="activation">Applied to the output.</param>
    /// <param name="dilationRate">Pixels between the kernel's taps (default 1, 1).</param>
    /// <param name="name">Layer name.</param>
    public DepthwiseConv2D((int Height, int Width) kernelSize, (int Height, int Width)? strides = null, string padding = "valid",
        int depthMultiplier = 1, ActivationFunction activation = ActivationFunction.Linear, (int Height, int Width)? dilationRate = null,
        string? name = null) : base(name)
    {
        KernelSize = ConvLayerArguments.Positive("DepthwiseConv2D", nameof(kernelSize), kernelSize);
        Strides = ConvLayerArguments.Positive("DepthwiseConv2D", nameof(strides), strides ?? (1, 1));
        DilationRate = ConvLayerArguments.Positive("DepthwiseConv2D", nameof(dilationRate), dilationRate ?? (1, 1));
        DepthMultiplier = ConvLayerArguments.Positive("DepthwiseConv2D", nameof(depthMultiplier), depthMultiplier);
        SamePadding = ConvLayerArguments.Parse("DepthwiseConv2D", padding) == ConvPadding.Same;
        Activation = activation;
    }

    /// <summary>Kernel height and width.</summary>
    public (int Height, int Width) KernelSize { get; }

    /// <summary>Steps between windows down and across.</summary>
    public (int Height, int Width) Strides { get; }

    /// <summary>Pixels between the kernel's taps down and across.</summary>
    public (int Height, int Width) DilationRate { get; }

    /// <summary>Filters per input channel.</summary>
    public int DepthMultiplier { get; }

    /// <summary>Whether padding is "same" (else "valid").</summary>
    public bool SamePadding { get; }

    /// <inheritdoc />
    public ActivationFunction Activation { get; }

    /// <summary>The depthwise kernel, shape (KH, KW, C, multiplier).</summary>
    public Tensor Kernel => _kernel ?? throw new InvalidOperationException($"Layer '{Name}' is not built.");

    /// <summary>The bias, shape (C · multiplier).</summary>
    public Tensor Bias => _bias ?? throw new InvalidOperationException($"Layer '{Name}' is not built.");

    /// <inheritdoc />
    protected internal override string DefaultName => "depthwise_conv2d";

    private ConvPadding Padding => SamePadding ? ConvPadding.Same : ConvPadding.Valid;

    /// <summary>The geometry of this layer on a per-example input (height, width, channels).</summary>
    internal ConvGeometry Geometry(ReadOnlySpan<int> inputShape) =>
        ConvLayerArguments.ImageGeometry(this, "DepthwiseConv2D", inputShape, KernelSize, Strides, DilationRate, SamePadding);

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape)
    {
        ConvGeometry g = Geometry(inputShape);
        int channels = inputShape[2];
        int receptive = KernelSize.Height * KernelSize.Width;
        _kernel = AddWeight("depthwise_kernel", [KernelSize.Height, KernelSize.Width, channels, DepthMultiplier],
            (w, rng) => Initializers.GlorotUniform(w, receptive * channels, receptive * DepthMultiplier, rng));
        _bias = AddWeight("bias", [channels * DepthMultiplier], Zeros);
        return [g.OutputHeight, g.OutputWidth, channels * DepthMultiplier];
    }

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training) => Ops.Activate(ForwardPreActivation(x, training), Activation);

    /// <inheritdoc />
    public Tensor ForwardPreActivation(Tensor x, bool training) => Ops.DepthwiseConv2D(x, Kernel, Bias, Strides, DilationRate, Padding);

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig()
        .Set("kernel_size", [KernelSize.Height, KernelSize.Width]).Set("strides", [Strides.Height, Strides.Width])
        .Set("padding", SamePadding ? "same" : "valid").Set("depth_multiplier", DepthMultiplier)
        .Set("dilation_rate", [DilationRate.Height, DilationRate.Width]).Set("activation", ActivationNames.Of(Activation));

    /// <inheritdoc />
    public override string Describe() => $"{KernelSize.Height}x{KernelSize.Width} per channel x{DepthMultiplier}, stride {Strides.Height}x{Strides.Width}"
        + (DilationRate != (1, 1) ? $", dilation {DilationRate.Height}x{DilationRate.Width}" : "") + $", {(SamePadding ? "same" : "valid")}";
}
