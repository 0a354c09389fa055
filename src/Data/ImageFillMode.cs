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
