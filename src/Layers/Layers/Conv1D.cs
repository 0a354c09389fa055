using NanoNet.Kernels;

namespace NanoNet.Layers;

/// <summary>
/// 1-D convolution layer, Keras's <c>Conv1D(filters, kernel_size, strides, padding, dilation_rate, activation)</c>
/// on (batch, steps, channels) sequences. Kernel (K, C, filters), Glorot-uniform with fan-in = K·C and
/// fan-out = K·filters; bias zero. Padding "valid", "same" or "causal" (the output at step t sees no
/// later input: for sequence models that predict the next step).
/// </summary>
/// <remarks>Runs <see cref="Ops.Conv1D"/>, the 2-D convolution's GEMM kernels on a 1×T image; ReLU is fused into it.</remarks>
public sealed class Conv1D : Layer, IActivatedLayer, IFoldableLinearLayer
{
    private Tensor? _kernel, _bias;

    /// <summary>Creates a 1-D convolution.</summary>
    /// <param name="filters">Output channels.</param>
    /// <param name="kernelSize">Taps of the kernel (steps it spans, before dilation).</param>
    /// <param name="stride">Steps between windows.</param>
    /// <param name="padding">"valid" (Keras' default), "same" (output ⌈steps / stride⌉) or "causal".</param>
    /// <param name="activation">Applied to the output.</param>
    /// <param name="dilationRate">Steps between the kernel's taps (Keras' <c>dilation_rate</c>).</param>
    /// <param name="name">Layer name.</param>
    public Conv1D(int filters, int kernelSize, int stride = 1, string padding = "valid",
        ActivationFunction activation = ActivationFunction.Linear, int dilationRate = 1, string? name = null) : base(name)
    {
        Filters = ConvLayerArguments.Positive("Conv1D", nameof(filters), filters);
        KernelSize = ConvLayerArguments.Positive("Conv1D", nameof(kernelSize), kernelSize);
        Stride = ConvLayerArguments.Positive("Conv1D", nameof(stride), stride);
        DilationRate = ConvLayerArguments.Positive("Conv1D", nameof(dilationRate), dilationRate);
        Padding = ConvLayerArguments.Parse("Conv1D", padding, allowCausal: true);
        Activation = activation;
    }

    /// <summary>Output channels.</summary>
    public int Filters { get; }

    /// <summary>Taps of the kernel.</summary>
    public int KernelSize { get; }

    /// <summary>Steps between windows.</summary>
    public int Stride { get; }

    /// <summary>Steps between taps.</summary>
    public int DilationRate { get; }

    /// <summary>Valid, same or causal.</summary>
    public ConvPadding Padding { get; }

    /// <inheritdoc />
    public ActivationFunction Activation { get; }

    /// <summary>The kernel, shape (K, C, filters).</summary>
    public Tensor Kernel => _kernel ?? throw new InvalidOperationException($"Layer '{Name}' is not built.");

    /// <summary>The bias, shape (filters).</summary>
    public Tensor Bias => _bias ?? throw new InvalidOperationException($"Layer '{Name}' is not built.");

    /// <inheritdoc />
    protected internal override string DefaultName => "conv1d";

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape)
    {
        if (inputShape.Length != 2)
            throw new ArgumentException($"Layer '{Name}' (Conv1D) expects sequences of shape (steps, channels), got per-example shape {Shapes.Format(inputShape)}.");
        int channels = inputShape[1];
        ConvGeometry g;
        try
        {
            g = ConvGeometry.Create(1, inputShape[0], channels, 1, KernelSize, 1, Stride, 1, DilationRate, Padding);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"Layer '{Name}' (Conv1D): {e.Message} (per-example input {Shapes.Format(inputShape)}).", e);
        }
        _kernel = AddWeight("kernel", [KernelSize, channels, Filters],
            (w, rng) => Initializers.GlorotUniform(w, KernelSize * channels, KernelSize * Filters, rng));
        _bias = AddWeight("bias", [Filters], Zeros);
        return [g.OutputWidth, Filters];
    }

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training) => Ops.Activate(
        Ops.Conv1D(x, Kernel, Bias, Stride, DilationRate, Padding, ActivationFusion.InsideOp(Activation)), ActivationFusion.AfterOp(Activation));

    /// <inheritdoc />
    public Tensor ForwardPreActivation(Tensor x, bool training) => Ops.Conv1D(x, Kernel, Bias, Stride, DilationRate, Padding);

    /// <inheritdoc />
    Tensor IFoldableLinearLayer.ForwardWith(Tensor x, Tensor kernel, Tensor bias) => Ops.Activate(
        Ops.Conv1D(x, kernel, bias, Stride, DilationRate, Padding, ActivationFusion.InsideOp(Activation)), ActivationFusion.AfterOp(Activation));

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().Set("filters", Filters).Set("kernel_size", KernelSize)
        .Set("strides", Stride).Set("padding", ConvLayerArguments.Of(Padding)).Set("dilation_rate", DilationRate)
        .Set("activation", ActivationNames.Of(Activation));

    /// <inheritdoc />
    public override string Describe() =>
        $"{Filters} filters, kernel {KernelSize}, stride {Stride}{(DilationRate > 1 ? $", dilation {DilationRate}" : "")}, {ConvLayerArguments.Of(Padding)}";
}
