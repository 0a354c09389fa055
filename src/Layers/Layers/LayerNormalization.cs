namespace NanoNet.Layers;

/// <summary>
/// Keras's <c>LayerNormalization</c> over the last axis: each example's feature vector (each step's, for
/// sequences) is normalised to zero mean and unit variance, then scaled by γ and shifted by β.
/// Training and inference compute the same thing.
/// </summary>
/// <remarks>
/// Weights, Keras's names: <c>gamma</c> (C, ones; if <see cref="Scale"/>) and <c>beta</c> (C, zeros; if
/// <see cref="Center"/>). Keras allows several axes; NanoNet normalises the last one (Keras's default). Masks pass through.
/// </remarks>
public sealed class LayerNormalization : Layer
{
    private static readonly WeightInitializer Ones = static (values, _) => values.Fill(1f);
    private Tensor? _gamma, _beta;

    /// <summary>A layer normalisation layer with Keras's defaults.</summary>
    /// <param name="axis">The normalised axis: the last (−1, or its positive index counting the batch axis as 0).</param>
    /// <param name="epsilon">Added to the variance before the square root (positive).</param>
    /// <param name="center">Whether to learn the shift β.</param>
    /// <param name="scale">Whether to learn the scale γ.</param>
    /// <param name="name">The layer's name (null: a default such as "layer_normalization_1").</param>
    public LayerNormalization(int axis = -1, float epsilon = 1e-3f, bool center = true, bool scale = true, string? name = null) : base(name)
    {
        if (axis == 0)
            throw new ArgumentOutOfRangeException(nameof(axis), axis, "LayerNormalization cannot normalise along the batch axis (0).");
        if (!(epsilon > 0f))
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "LayerNormalization's epsilon must be positive.");
        (Axis, Epsilon, Center, Scale) = (axis, epsilon, center, scale);
    }

    /// <summary>The normalised axis as given (the last one).</summary>
    public int Axis { get; }

    /// <summary>Added to the variance before the square root.</summary>
    public float Epsilon { get; }

    /// <summary>Whether β is learned.</summary>
    public bool Center { get; }

    /// <summary>Whether γ is learned.</summary>
    public bool Scale { get; }

    /// <summary>γ (C), or null without <see cref="Scale"/>.</summary>
    public Tensor? Gamma => IsBuilt ? _gamma : throw NotBuilt();

    /// <summary>β (C), or null without <see cref="Center"/>.</summary>
    public Tensor? Beta => IsBuilt ? _beta : throw NotBuilt();

    /// <inheritdoc />
    protected internal override string DefaultName => "layer_normalization";

    /// <inheritdoc />
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape)
    {
        int rank = inputShape.Length;
        if (rank == 0 || (Axis != -1 && Axis != rank))
            throw new ArgumentException($"Layer '{Name}' (LayerNormalization, axis {Axis}) normalises the last axis; inputs {Shapes.FormatBatched(inputShape)} need axis -1 (or {rank}).");
        int features = inputShape[^1];
        _gamma = Scale ? AddWeight("gamma", [features], Ones) : null;
        _beta = Center ? AddWeight("beta", [features], Zeros) : null;
        return inputShape;
    }

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training) => Ops.LayerNormalization(x, _gamma, _beta, Epsilon);

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().Set("axis", Axis).Set("epsilon", Epsilon).Set("center", Center).Set("scale", Scale);

    /// <inheritdoc />
    public override string Describe() => FormattableString.Invariant($"epsilon={Epsilon}");
}
