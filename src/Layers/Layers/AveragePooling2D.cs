using NanoNet.Kernels;

namespace NanoNet.Layers;

/// <summary>
/// Keras's <c>AveragePooling2D(pool_size, strides, padding)</c> on (batch, height, width, channels) images:
/// the mean of each channel over each window; the strides default to the pool size; a "same" window that
/// overhangs the edge averages only the pixels inside the image (as Keras). No weights.
/// </summary>
/// <remarks>Exports to ONNX as <c>AveragePool</c> with count_include_pad = 0.</remarks>
public sealed class AveragePooling2D : Layer
{
    /// <summary>Creates a square pooling window.</summary>
    public AveragePooling2D(int poolSize = 2, int? stride = null, string padding = "valid", string? name = null)
        : this((poolSize, poolSize), stride is int s ? (s, s) : null, padding, name)
    {
    }

    /// <summary>Creates a (height, width) pooling window moved by (height, width) strides (default: the pool size).</summary>
    public AveragePooling2D((int Height, int Width) poolSize, (int Height, int Width)? strides = null, string padding = "valid", string? name = null)
        : base(name)
    {
        PoolSize = ConvLayerArguments.Positive("AveragePooling2D", nameof(poolSize), poolSize);
        Strides = ConvLayerArguments.Positive("AveragePooling2D", nameof(strides), strides ?? poolSize);
        SamePadding = ConvLayerArguments.Parse("AveragePooling2D", padding) == ConvPadding.Same;
    }

    /// <summary>Window height and width.</summary>
    public (int Height, int Width) PoolSize { get; }

    /// <summary>Steps between windows down and across.</summary>
    public (int Height, int Width) Strides { get; }

    /// <summary>Whether padding is "same".</summary>
    public bool SamePadding { get; }

    /// <inheritdoc />
    protected internal override string DefaultName => "average_pooling2d";

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape) =>
        ConvLayerArguments.Pooling2DOutputShape(this, "AveragePooling2D", inputShape, PoolSize, Strides, SamePadding);

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().Set("pool_size", [PoolSize.Height, PoolSize.Width])
        .Set("strides", [Strides.Height, Strides.Width]).Set("padding", SamePadding ? "same" : "valid");

    /// <inheritdoc />
    public override string Describe() => $"pool {PoolSize.Height}x{PoolSize.Width}, stride {Strides.Height}x{Strides.Width}, {(SamePadding ? "same" : "valid")}";

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training) =>
        Ops.AveragePool2D(x, PoolSize.Height, PoolSize.Width, Strides.Height, Strides.Width, SamePadding);
}
