namespace NanoNet.Layers;

/// <summary>Max pooling layer on (batch, height, width, channels) images; stride defaults to the pool size (Keras).</summary>
public sealed class MaxPool2D : Layer
{
    /// <summary>Creates a square pooling window.</summary>
    public MaxPool2D(int poolSize = 2, int? stride = null, string padding = "valid", string? name = null) : base(name)
    {
        if (poolSize < 1) throw new ArgumentOutOfRangeException(nameof(poolSize), poolSize, "The pool size must be positive.");
        PoolSize = poolSize;
        Stride = stride ?? poolSize;
        if (Stride < 1) throw new ArgumentOutOfRangeException(nameof(stride), stride, "The stride must be positive.");
        SamePadding = padding switch
        {
            "valid" => false,
            "same" => true,
            _ => throw new ArgumentException($"MaxPool2D padding must be \"valid\" or \"same\", got \"{padding}\".", nameof(padding)),
        };
    }

    /// <summary>Window height and width.</summary>
    public int PoolSize { get; }

    /// <summary>Step between windows.</summary>
    public int Stride { get; }

    /// <summary>Whether padding is "same".</summary>
    public bool SamePadding { get; }

    /// <inheritdoc />
    protected internal override string DefaultName => "max_pooling2d";

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape)
    {
        if (inputShape.Length != 3)
            throw new ArgumentException($"Layer '{Name}' (MaxPool2D) expects images of shape (height, width, channels), got per-example shape {Shapes.Format(inputShape)}.");
        var g = Kernels.ConvGeometry.Create(inputShape[0], inputShape[1], inputShape[2], PoolSize, PoolSize, Stride, Stride, SamePadding);
        return [g.OutputHeight, g.OutputWidth, inputShape[2]];
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() =>
        base.GetConfig().Set("pool_size", PoolSize).Set("strides", Stride).Set("padding", SamePadding ? "same" : "valid");

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training) => Ops.MaxPool2D(x, PoolSize, PoolSize, Stride, Stride, SamePadding);
}
