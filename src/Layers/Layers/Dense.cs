namespace NanoNet.Layers;

/// <summary>
/// Fully connected layer: y = activation(x·W + b), W is (inputs, units), b is (units).
/// Keras defaults: Glorot-uniform kernel, zero bias. Applies to the last axis, so (N, T, F) inputs work.
/// </summary>
public sealed class Dense(int units, ActivationFunction activation = ActivationFunction.Linear, string? name = null)
    : Layer(name), IActivatedLayer, IFoldableLinearLayer
{
    private Tensor? _kernel, _bias;

    /// <summary>Number of output features.</summary>
    public int Units { get; } = units > 0 ? units : throw new ArgumentOutOfRangeException(nameof(units), units, "Dense needs at least one unit.");

    /// <inheritdoc />
    public ActivationFunction Activation { get; } = activation;

    /// <summary>The kernel W, shape (inputs, units).</summary>
    public Tensor Kernel => _kernel ?? throw new InvalidOperationException($"Layer '{Name}' is not built.");

    /// <summary>The bias b, shape (units).</summary>
    public Tensor Bias => _bias ?? throw new InvalidOperationException($"Layer '{Name}' is not built.");

    /// <inheritdoc />
    protected internal override string DefaultName => "dense";

    /// <inheritdoc />
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape)
    {
        if (inputShape.Length == 0)
            throw new ArgumentException($"Layer '{Name}' (Dense) needs inputs with a feature axis, got per-example shape ().");
        int inputs = inputShape[^1];
        _kernel = AddWeight("kernel", [inputs, Units], (w, rng) => Initializers.GlorotUniform(w, inputs, Units, rng));
        _bias = AddWeight("bias", [Units], Zeros);
        int[] output = (int[])inputShape.Clone();
        output[^1] = Units;
        return output;
    }

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training) =>
        Ops.Activate(Apply(x, ActivationFusion.InsideOp(Activation)), ActivationFusion.AfterOp(Activation));

    /// <inheritdoc />
    public Tensor ForwardPreActivation(Tensor x, bool training) => Apply(x, ActivationFunction.Linear);

    /// <inheritdoc />
    Tensor IFoldableLinearLayer.ForwardWith(Tensor x, Tensor kernel, Tensor bias) =>
        Ops.Activate(Apply(x, ActivationFusion.InsideOp(Activation), kernel, bias), ActivationFusion.AfterOp(Activation));

    private Tensor Apply(Tensor x, ActivationFunction fused) => Apply(x, fused, Kernel, Bias);

    /// <summary>act(x·W + b) on the last axis: inputs of rank &gt; 2 are viewed as rows and back (no copies).</summary>
    private Tensor Apply(Tensor x, ActivationFunction fused, Tensor kernel, Tensor bias)
    {
        if (x.Rank == 2)
            return Ops.Linear(x, kernel, bias, fused);
        Tensor z = Ops.Linear(Ops.Reshape(x, -1, kernel.Dim(0)), kernel, bias, fused);
        Span<int> shape = stackalloc int[x.Rank]; // no array per call
        x.Shape.CopyTo(shape);
        shape[^1] = Units;
        return Ops.Reshape(z, shape);
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() =>
        base.GetConfig().Set("units", Units).Set("activation", ActivationNames.Of(Activation));

    /// <inheritdoc />
    public override string Describe() => $"units={Units}" + (Activation == ActivationFunction.Linear ? "" : $", {Activation.ToString().ToLowerInvariant()}");
}
