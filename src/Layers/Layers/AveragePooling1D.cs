using NanoNet.Kernels;

namespace NanoNet.Layers;

/// <summary>
/// Keras's <c>AveragePooling1D(pool_size, strides, padding)</c> on (batch, steps, channels) sequences: the
/// mean of each channel over windows of <see cref="PoolSize"/> steps; the stride defaults to the pool size;
/// "same" windows average only the steps inside the sequence (as Keras). No weights.
/// </summary>
/// <remarks>Exports to ONNX as a 1-D <c>AveragePool</c> with count_include_pad = 0 between two Transposes.</remarks>
public sealed class AveragePooling1D : Layer
{
    /// <summary>Creates a 1-D average pooling.</summary>
    /// <param name="poolSize">Steps per window.</param>
    /// <param name="stride">Steps between windows (default: the pool size).</param>
    /// <param name="padding">"valid" or "same".</param>
    /// <param name="name">Layer name.</param>
    public AveragePooling1D(int poolSize = 2, int? stride = null, string padding = "valid", string? name = null) : base(name)
    {
        PoolSize = ConvLayerArguments.Positive("AveragePooling1D", nameof(poolSize), poolSize);
        Stride = ConvLayerArguments.Positive("AveragePooling1D", nameof(stride), stride ?? poolSize);
        SamePadding = ConvLayerArguments.Parse("AveragePooling1D", padding) == ConvPadding.Same;
    }

    /// <summary>Steps per window.</summary>
    public int PoolSize { get; }

    /// <summary>Steps between windows.</summary>
    public int Stride { get; }

    /// <summary>Whether padding is "same".</summary>
    public bool SamePadding { get; }

    /// <inheritdoc />
    protected internal override string DefaultName => "average_pooling1d";

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape) =>
        [ConvLayerArguments.Pooling1DOutputSteps(this, "AveragePooling1D", inputShape, PoolSize, Stride, SamePadding), inputShape[1]];

    /// <inheritdoc />
    public override LayerConfig GetConfig() =>
        base.GetConfig().Set("pool_size", PoolSize).Set("strides", Stride).Set("padding", SamePadding ? "same" : "valid");

    /// <inheritdoc />
    public override string Describe() => $"pool {PoolSize}, stride {Stride}, {(SamePadding ? "same" : "valid")}";

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training) => Ops.AveragePool1D(x, PoolSize, Stride, SamePadding);
}
