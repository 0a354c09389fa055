namespace NanoNet.Data;

/// <summary>
/// What <see cref="ImageAugmentation"/> puts where a shifted image uncovers pixels that lie outside the
/// original (Keras's <c>fill_mode</c>).
/// </summary>
public enum ImageFillMode
{
    /// <summary>Zeros (Keras <c>fill_mode='constant'</c> with <c>cval=0</c>).</summary>
    Constant,

    /// <summary>The nearest edge pixel, repeated outwards: aaaa|abcd|dddd (Keras <c>fill_mode='nearest'</c>).</summary>
    Nearest,
}

/// <summary>
/// How <see cref="ImageAugmentation"/> reads a shifted image between pixels (Keras's <c>interpolation_order</c>).
/// </summary>
public enum ImageInterpolation
{
    /// <summary>Bilinear: the four pixels around the point, weighted by distance (Keras's default since keras-preprocessing 1.0.6, order 1).</summary>
    Bilinear,

    /// <summary>
    /// The nearest pixel (order 0, what Keras 2.0–2.2 used): a fractional shift becomes the nearest whole-pixel shift,
    /// so shifted images stay as sharp as the test images.
    /// </summary>
    Nearest,
}
