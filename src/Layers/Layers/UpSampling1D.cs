namespace NanoNet.Layers;

/// <summary>
/// Keras's <c>UpSampling1D(size)</c> on (batch, steps, channels) sequences: every step repeated <see cref="Size"/>
/// times, (T, C) → (T·size, C). No weights; runs <see cref="Ops.UpSampling1D"/>.
/// </summary>
/// <remarks>Exports to ONNX as <c>Resize</c> (nearest, asymmetric, floor) with scales (1, size, 1).</remarks>
public sealed class UpSampling1D : Layer
{
    /// <summary>Repeats every step <paramref name="size"/> times (Keras's default: 2).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is below 1.</exception>
    public UpSampling1D(int size = 2, string? name = null) : base(name) =>
        Size = ConvLayerArguments.Positive("UpSampling1D", nameof(size), size);

    /// <summary>How many times each step is repeated.</summary>
    public int Size { get; }

    /// <inheritdoc />
    protected internal override string DefaultName => "up_sampling1d";

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape)
    {
        if (inputShape.Length != 2)
            throw new ArgumentException($"Layer '{Name}' (UpSampling1D) expects sequences of shape (steps, channels), got per-example shape {Shapes.Format(inputShape)}.");
        long steps = (long)inputShape[0] * Size;
        if (steps * inputShape[1] > int.MaxValue)
            throw new ArgumentException($"Layer '{Name}' (UpSampling1D): per-example input {Shapes.Format(inputShape)} upsampled by {Size} is too large.");
        return [(int)steps, inputShape[1]];
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().Set("size", Size);

    /// <inheritdoc />
    public override string Describe() => $"size {Size}";

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training) => Ops.UpSampling1D(x, Size);
}
