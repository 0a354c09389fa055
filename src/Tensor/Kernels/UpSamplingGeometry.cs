namespace NanoNet.Kernels;

/// <summary>
/// The shapes of one upsampled NHWC image: H×W×C in, (H·RowFactor)×(W·ColumnFactor)×C out. A sequence
/// (T, C) is the image 1×T×C with RowFactor 1.
/// </summary>
public readonly record struct UpSamplingGeometry(int Height, int Width, int Channels, int RowFactor, int ColumnFactor)
{
    /// <summary>H·RowFactor.</summary>
    public int OutputHeight => Height * RowFactor;

    /// <summary>W·ColumnFactor.</summary>
    public int OutputWidth => Width * ColumnFactor;

    /// <summary>Values in one input image, H·W·C.</summary>
    public int InputImageSize => Height * Width * Channels;

    /// <summary>Values in one output image, OH·OW·C.</summary>
    public int OutputImageSize => OutputHeight * OutputWidth * Channels;

    /// <summary>A geometry, checked: positive factors, non-negative sizes, an output that fits in an int.</summary>
    /// <exception cref="ArgumentException">A factor below 1, a negative size, or an output image too large.</exception>
    public static UpSamplingGeometry Create(int height, int width, int channels, int rowFactor, int columnFactor)
    {
        if (rowFactor < 1 || columnFactor < 1)
            throw new ArgumentException($"UpSampling factors must be at least 1, got ({rowFactor}, {columnFactor}).");
        if (height < 0 || width < 0 || channels < 0)
            throw new ArgumentException($"UpSampling: image size {height}×{width}×{channels} is negative.");
        if ((long)height * rowFactor * width * columnFactor * channels > int.MaxValue)
            throw new ArgumentException($"UpSampling: a {height}×{width}×{channels} image upsampled by ({rowFactor}, {columnFactor}) is too large.");
        return new UpSamplingGeometry(height, width, channels, rowFactor, columnFactor);
    }

    /// <summary>
    /// Where output index <paramref name="o"/> of an axis upsampled by <paramref name="factor"/> from <paramref name="size"/>
    /// reads for bilinear interpolation, with half-pixel centres (TensorFlow's <c>resize</c>, which Keras's
    /// bilinear UpSampling2D runs; ONNX's <c>coordinate_transformation_mode = half_pixel</c>): the source
    /// coordinate s = (o + ½)/factor − ½, clamped to [0, size − 1]; the two neighbours Lower = ⌊s⌋ and Upper
    /// (Lower + 1, or Lower at the last index) and the weight Fraction = s − Lower of Upper.
    /// </summary>
    public static (int Lower, int Upper, float Fraction) BilinearSource(int o, int factor, int size)
    {
        float s = (o + 0.5f) / factor - 0.5f;
        s = Math.Clamp(s, 0f, size - 1);
        int lower = (int)s; // s ≥ 0, so truncation is the floor
        return (lower, Math.Min(lower + 1, size - 1), s - lower);
    }
}
