namespace NanoNet.Layers;

/// <summary>
/// Keras's <c>ZeroPadding2D(padding)</c>: rows of zeros above and below and columns of zeros left and right
/// of (batch, height, width, channels) images. No weights; runs <see cref="Ops.Pad"/>.
/// </summary>
/// <remarks>Exports to ONNX as <c>Pad</c> (constant 0) on the NHWC value.</remarks>
public sealed class ZeroPadding2D : Layer
{
    private (int Before, int After)[] _padding = [];

    /// <summary>The same number of rows and columns on every side (Keras's default: 1).</summary>
    public ZeroPadding2D(int padding = 1, string? name = null) : this((padding, padding), (padding, padding), name)
    {
    }

    /// <summary>Symmetric padding: <paramref name="padding"/>.Height rows above and below, .Width columns left and right.</summary>
    public ZeroPadding2D((int Height, int Width) padding, string? name = null)
        : this((padding.Height, padding.Height), (padding.Width, padding.Width), name)
    {
    }

    /// <summary>Padding given per side, as Keras's ((top, bottom), (left, right)).</summary>
    public ZeroPadding2D((int Top, int Bottom) height, (int Left, int Right) width, string? name = null) : base(name)
    {
        if (height.Top < 0 || height.Bottom < 0 || width.Left < 0 || width.Right < 0)
            throw new ArgumentOutOfRangeException(nameof(height), $"ZeroPadding2D amounts must not be negative, got (({height.Top}, {height.Bottom}), ({width.Left}, {width.Right})).");
        Height = height;
        Width = width;
    }

    /// <summary>Rows added above and below.</summary>
    public (int Top, int Bottom) Height { get; }

    /// <summary>Columns added left and right.</summary>
    public (int Left, int Right) Width { get; }

    /// <inheritdoc />
    protected internal override string DefaultName => "zero_padding2d";

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape)
    {
        if (inputShape.Length != 3)
            throw new ArgumentException($"Layer '{Name}' (ZeroPadding2D) expects images of shape (height, width, channels), got per-example shape {Shapes.Format(inputShape)}.");
        _padding = [(0, 0), (Height.Top, Height.Bottom), (Width.Left, Width.Right), (0, 0)]; // made once: a step allocates nothing
        return [inputShape[0] + Height.Top + Height.Bottom, inputShape[1] + Width.Left + Width.Right, inputShape[2]];
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().Set("padding", [Height.Top, Height.Bottom, Width.Left, Width.Right]);

    /// <inheritdoc />
    public override string Describe() => $"(({Height.Top}, {Height.Bottom}), ({Width.Left}, {Width.Right}))";

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training) => Ops.Pad(x, _padding);
}
