namespace NanoNet.Layers;

/// <summary>
/// Keras's <c>BatchNormalization</c>: normalises each channel (the <see cref="Axis"/>, the last by default,
/// so NHWC images are normalised per colour channel) to zero mean and unit variance, then scales by γ and
/// shifts by β.
/// </summary>
/// <remarks>
/// <para>Training (and <see cref="Layer.Trainable"/>): the batch's statistics (biased variance), and the
/// moving ones are updated, moving = moving·<see cref="Momentum"/> + batch·(1 − <see cref="Momentum"/>).
/// Inference, or a frozen layer (Keras: <c>trainable = False</c> runs in inference mode): the moving statistics.</para>
/// <para>Weights, Keras's names and order: <c>gamma</c> (C, ones; if <see cref="Scale"/>), <c>beta</c> (C, zeros;
/// if <see cref="Center"/>), <c>moving_mean</c> (C, zeros) and <c>moving_variance</c> (C, ones). The moving
/// statistics are non-trainable: saved and loaded with the model, never handed to the optimizer.</para>
/// <para>A channel axis other than the last is moved last and back (two copies); the fast path is channels last.
/// Masks pass through; the statistics include masked steps.</para>
/// </remarks>
public sealed class BatchNormalization : Layer
{
    private static readonly WeightInitializer Ones = static (values, _) => values.Fill(1f);
    private Tensor? _gamma, _beta, _movingMean, _movingVariance;
    private int[]? _toLast, _fromLast;

    /// <summary>A batch normalisation layer with Keras's defaults.</summary>
    /// <param name="axis">The channel axis, counting the batch axis as 0 (negative from the end).</param>
    /// <param name="momentum">The moving statistics' decay per training step, in [0, 1].</param>
    /// <param name="epsilon">Added to the variance before the square root (positive).</param>
    /// <param name="center">Whether to learn the shift β.</param>
    /// <param name="scale">Whether to learn the scale γ.</param>
    /// <param name="name">The layer's name (null: a default such as "batch_normalization_1").</param>
    public BatchNormalization(int axis = -1, float momentum = 0.99f, float epsilon = 1e-3f, bool center = true, bool scale = true, string? name = null)
        : base(name)
    {
        if (axis == 0)
            throw new ArgumentOutOfRangeException(nameof(axis), axis, "BatchNormalization cannot normalise per example along the batch axis (0).");
        if (!(momentum >= 0f && momentum <= 1f))
            throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "BatchNormalization's momentum must be in [0, 1].");
        if (!(epsilon > 0f))
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "BatchNormalization's epsilon must be positive.");
        (Axis, Momentum, Epsilon, Center, Scale) = (axis, momentum, epsilon, center, scale);
    }

    /// <summary>The channel axis, counting the batch axis as 0 (negative from the end).</summary>
    public int Axis { get; }

    /// <summary>The moving statistics' decay per training step.</summary>
    public float Momentum { get; }

    /// <summary>Added to the variance before the square root.</summary>
    public float Epsilon { get; }

    /// <summary>Whether β is learned.</summary>
    public bool Center { get; }

    /// <summary>Whether γ is learned.</summary>
    public bool Scale { get; }

    /// <summary>γ (C), or null without <see cref="Scale"/>.</summary>
    public Tensor? Gamma => Built(_gamma);

    /// <summary>β (C), or null without <see cref="Center"/>.</summary>
    public Tensor? Beta => Built(_beta);

    /// <summary>The moving mean (C), non-trainable.</summary>
    public Tensor MovingMean => Built(_movingMean)!;

    /// <summary>The moving (biased) variance (C), non-trainable.</summary>
    public Tensor MovingVariance => Built(_movingVariance)!;

    /// <summary>The channel axis within one example (the batch axis removed).</summary>
    public int SampleAxis => Axis < 0 ? InputShape.Length + Axis : Axis - 1;

    /// <inheritdoc />
    protected internal override string DefaultName => "batch_normalization";

    /// <inheritdoc />
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape)
    {
        int rank = inputShape.Length, axis = Axis < 0 ? rank + Axis : Axis - 1;
        if (rank == 0 || axis < 0 || axis >= rank)
            throw new ArgumentException($"Layer '{Name}' (BatchNormalization, axis {Axis}) cannot normalise inputs of shape {Shapes.FormatBatched(inputShape)}: the axis is outside them.");
        int channels = inputShape[axis];
        _gamma = Scale ? AddWeight("gamma", [channels], Ones) : null;
        _beta = Center ? AddWeight("beta", [channels], Zeros) : null;
        _movingMean = AddWeight("moving_mean", [channels], Zeros, trainable: false);
        _movingVariance = AddWeight("moving_variance", [channels], Ones, trainable: false);
        if (axis != rank - 1)
        {
            // (N, ..., C, ...) → (N, ..., C) and back: batch axis stays first.
            _toLast = [0, .. Enumerable.Range(1, rank).Where(a => a != axis + 1), axis + 1];
            _fromLast = new int[rank + 1];
            for (int k = 0; k <= rank; k++)
                _fromLast[_toLast[k]] = k;
        }
        return inputShape;
    }

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training)
    {
        bool batchStatistics = training && Trainable;
        if (_toLast is null)
            return Ops.BatchNormalization(x, _gamma, _beta, _movingMean!, _movingVariance!, batchStatistics, Momentum, Epsilon);
        Tensor normalized = Ops.BatchNormalization(Ops.Permute(x, _toLast), _gamma, _beta, _movingMean!, _movingVariance!, batchStatistics, Momentum, Epsilon);
        return Ops.Permute(normalized, _fromLast!);
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().Set("axis", Axis).Set("momentum", Momentum).Set("epsilon", Epsilon)
        .Set("center", Center).Set("scale", Scale);

    /// <inheritdoc />
    public override string Describe() => FormattableString.Invariant($"axis={Axis}, momentum={Momentum}, epsilon={Epsilon}");

    private Tensor? Built(Tensor? weight) => IsBuilt ? weight : throw NotBuilt();
}
