namespace NanoNet.Layers;

/// <summary>
/// Keras's <c>RepeatVector</c>: repeats each example's vector <see cref="Count"/> times, (N, F) → (N, n, F)
/// (e.g. to feed an encoder's summary to every step of a decoder). The result is a copy.
/// </summary>
/// <remarks>Exports to ONNX as <c>Unsqueeze(axes=[1])</c> → <c>Expand(shape=[1, n, 1])</c>.</remarks>
public sealed class RepeatVector : Layer
{
    /// <summary>A layer repeating each input vector <paramref name="n"/> times.</summary>
    /// <param name="n">The number of repetitions, at least 1.</param>
    /// <param name="name">The layer's name (null: a default such as "repeat_vector_1").</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="n"/> is below 1.</exception>
    public RepeatVector(int n, string? name = null) : base(name)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        Count = n;
    }

    /// <summary>The number of repetitions.</summary>
    public int Count { get; }

    /// <inheritdoc />
    protected internal override string DefaultName => "repeat_vector";

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape)
    {
        if (inputShape.Length != 1)
            throw new ArgumentException($"Layer '{(Name.Length > 0 ? Name : DefaultName)}' (RepeatVector) takes vectors (F) per example, got {Shapes.Format(inputShape)}.");
        return [Count, inputShape[0]];
    }

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training) =>
        Ops.BroadcastTo(Ops.Unsqueeze(x, 1), x.Dim(0), Count, OutputShape[1]);

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().Set("n", Count);

    /// <inheritdoc />
    public override string Describe() => $"n={Count}";
}
