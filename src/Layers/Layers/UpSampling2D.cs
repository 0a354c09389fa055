namespace NanoNet.Layers;

/// <summary>
/// Keras's <c>UpSampling2D(size, interpolation)</c> on (batch, height, width, channels) images: each image grows
/// by whole factors down and across, (H, W, C) → (H·size.Height, W·size.Width, C). "nearest" (Keras's default)
/// repeats every pixel into a size.Height × size.Width block; "bilinear" interpolates with half-pixel centres,
/// as Keras's bilinear mode does (it runs TensorFlow's <c>image.resize</c>). No weights; runs <see cref="Ops.UpSampling2D"/>.
/// </summary>
/// <remarks>
/// Exports to ONNX as <c>Resize</c> on the NHWC value with scales (1, size.Height, size.Width, 1): nearest as
/// coordinate_transformation_mode "asymmetric" with nearest_mode "floor" (output o reads input ⌊o/size⌋, the
/// block repeat exactly), bilinear as mode "linear" with "half_pixel". Keras's other interpolations (bicubic,
/// lanczos) are not implemented.
/// </remarks>
public sealed class UpSampling2D : Layer
{
    /// <summary>The same factor down and across (Keras's default: 2).</summary>
    /// <param name="size">The upsampling factor, at least 1.</param>
    /// <param name="interpolation">"nearest" (default) or "bilinear".</param>
    /// <param name="name">The layer's name (null: a default such as "up_sampling2d_1").</param>
    public UpSampling2D(int size = 2, string interpolation = "nearest", string? name = null) : this((size, size), interpolation, name)
    {
    }

    /// <summary>Factors (rows, columns).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A factor is below 1.</exception>
    /// <exception cref="ArgumentException">The interpolation is neither "nearest" nor "bilinear".</exception>
    public UpSampling2D((int Height, int Width) size, string interpolation = "nearest", string? name = null) : base(name)
    {
        ArgumentNullException.ThrowIfNull(interpolation);
        Size = ConvLayerArguments.Positive("UpSampling2D", nameof(size), size);
        Bilinear = interpolation switch
        {
            "nearest" => false,
            "bilinear" => true,
            _ => throw new ArgumentException($"UpSampling2D interpolation must be \"nearest\" or \"bilinear\", got \"{interpolation}\".", nameof(interpolation)),
        };
    }

    /// <summary>The factors down (rows) and across (columns).</summary>
    public (int Height, int Width) Size { get; }

    /// <summary>Whether the interpolation is "bilinear" (else "nearest").</summary>
    public bool Bilinear { get; }

    /// <summary>Keras's name of the interpolation: "nearest" or "bilinear".</summary>
    public string Interpolation => Bilinear ? "bilinear" : "nearest";

    /// <inheritdoc />
    protected internal override string DefaultName => "up_sampling2d";

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape)
    {
        if (inputShape.Length != 3)
            throw new ArgumentException($"Layer '{Name}' (UpSampling2D) expects images of shape (height, width, channels), got per-example shape {Shapes.Format(inputShape)}.");
        long height = (long)inputShape[0] * Size.Height, width = (long)inputShape[1] * Size.Width;
        if (height * width * inputShape[2] > int.MaxValue)
            throw new ArgumentException($"Layer '{Name}' (UpSampling2D): per-example input {Shapes.Format(inputShape)} upsampled by ({Size.Height}, {Size.Width}) is too large.");
        return [(int)height, (int)width, inputShape[2]];
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().Set("size", [Size.Height, Size.Width]).Set("interpolation", Interpolation);

    /// <inheritdoc />
    public override string Describe() => $"size {Size.Height}x{Size.Width}, {Interpolation}";

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training) => Ops.UpSampling2D(x, Size.Height, Size.Width, Bilinear);
}
