namespace NanoNet.Layers;

/// <summary>
/// A Keras-shaped building block: owns its parameters, knows its per-example input and output shapes,
/// and computes its forward pass with differentiable <see cref="Ops"/> (so backward comes from the tape).
/// </summary>
/// <remarks>
/// Shapes here are per example: a layer built for input (28, 28) accepts batches of shape (N, 28, 28).
/// </remarks>
public abstract class Layer
{
    private int[]? _inputShape, _outputShape;

    /// <summary>Creates a layer; a null name is replaced by a unique default when added to a model.</summary>
    protected Layer(string? name) => Name = name ?? "";

    /// <summary>The layer's name, used in summaries and error messages (e.g. "dense_1").</summary>
    public string Name { get; internal set; }

    /// <summary>The base of default names, e.g. "dense".</summary>
    protected internal abstract string DefaultName { get; }

    /// <summary>Per-example input shape (set by <see cref="Build"/>).</summary>
    public ReadOnlySpan<int> InputShape => _inputShape ?? throw NotBuilt();

    /// <summary>Per-example output shape (set by <see cref="Build"/>).</summary>
    public ReadOnlySpan<int> OutputShape => _outputShape ?? throw NotBuilt();

    /// <summary>Whether <see cref="Build"/> has run.</summary>
    public bool IsBuilt => _outputShape is not null;

    /// <summary>The trainable parameters, in a fixed order.</summary>
    public virtual IReadOnlyList<Tensor> Parameters => [];

    /// <summary>Total number of trainable values.</summary>
    public int ParameterCount => Parameters.Sum(p => p.Length);

    /// <summary>Creates the parameters for a per-example input shape, drawing initial weights from <paramref name="rng"/>.</summary>
    /// <remarks><see cref="Sequential"/> gives every layer its own stream (<see cref="RandomStreamIds.LayerWeights"/>).</remarks>
    public void Build(ReadOnlySpan<int> inputShape, RandomStream rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        _inputShape = inputShape.ToArray();
        _outputShape = OnBuild(_inputShape, rng);
    }

    /// <summary>Creates parameters (initial values drawn from <paramref name="rng"/>) and returns the per-example output shape.</summary>
    protected abstract int[] OnBuild(int[] inputShape, RandomStream rng);

    /// <summary>Runs the layer on a batch, checking its shape first.</summary>
    /// <exception cref="ArgumentException">The batch's shape is not (N, <see cref="InputShape"/>); the message names the layer.</exception>
    public Tensor Forward(Tensor x, bool training = false)
    {
        ArgumentNullException.ThrowIfNull(x);
        ReadOnlySpan<int> expected = InputShape;
        if (x.Rank != expected.Length + 1 || !x.Shape[1..].SequenceEqual(expected))
            throw new ArgumentException(
                $"Layer '{Name}' expects input of shape {Shapes.FormatBatched(expected)} but got {Shapes.Format(x.Shape)}.");
        return OnForward(x, training);
    }

    /// <summary>The forward computation on a batch whose shape has been checked.</summary>
    protected abstract Tensor OnForward(Tensor x, bool training);

    /// <summary>A short description of the configuration for summaries, e.g. "units=128, relu".</summary>
    public virtual string Describe() => "";

    private InvalidOperationException NotBuilt() =>
        new($"Layer '{Name}' has not been built yet: add it to a Sequential model with an input shape first.");
}

/// <summary>
/// A layer whose last step is an activation that can be skipped, so a loss can fuse with it
/// (softmax + cross-entropy are computed together from the logits).
/// </summary>
public interface IActivatedLayer
{
    /// <summary>The activation applied last.</summary>
    ActivationFunction Activation { get; }

    /// <summary>The forward pass without the final activation (the pre-activation values).</summary>
    Tensor ForwardPreActivation(Tensor x, bool training);
}
