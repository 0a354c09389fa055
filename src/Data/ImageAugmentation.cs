namespace NanoNet.Data;

/// <summary>
/// Seeded random augmentation of a batch of channels-last images (N, H, W, C), in place: horizontal
/// flips and shifts, either by whole pixels (<c>maxShift</c>) or, as Keras's <c>ImageDataGenerator</c>
/// does, by a random fraction of the width and height with bilinear interpolation
/// (<c>widthShiftRange</c>, <c>heightShiftRange</c>). Uncovered pixels are zeros or the nearest edge pixel
/// (<see cref="FillMode"/>). Everything is off unless asked for.
/// </summary>
/// <remarks>
/// <para>
/// A whole-pixel shift by (dy, dx) with zero fill is the same as the usual "pad by <see cref="MaxShift"/>
/// zeros on every side, then crop a random H×W window". A fractional shift reads the image at
/// (y + dy, x + dx) with bilinear interpolation, as Keras's default <c>interpolation_order=1</c> does:
/// <c>ImageDataGenerator(width_shift_range=0.1, height_shift_range=0.1, fill_mode='nearest',
/// horizontal_flip=True)</c> is <c>new ImageAugmentation(horizontalFlip: true, widthShiftRange: 0.1f,
/// heightShiftRange: 0.1f, fillMode: ImageFillMode.Nearest)</c>.
/// </para>
/// <para>
/// Apply it to training batches only (they are copies, see <see cref="MiniBatchLoader.BatchTransform"/>),
/// never to the data set itself. The random draws come from <see cref="Random"/> (stream
/// <see cref="RandomStreamIds.Augmentation"/> of the seed) and depend only on the seed and the sequence of
/// calls, so runs are reproducible; save <c>Random.State</c> in a checkpoint and <c>Random.Restore</c> it to
/// continue with the same draws. An instance keeps scratch buffers and a random generator: use one per thread.
/// </para>
/// </remarks>
/// <example><code>
/// var augmentation = new ImageAugmentation(horizontalFlip: true, maxShift: 4, seed: 1);
/// var loader = new MiniBatchLoader(train, 128) { BatchTransform = batch => augmentation.Apply(batch.Features) };
/// </code></example>
public sealed class ImageAugmentation
{
    private float[] _scratch = [];
    private int[] _columnIndex = [];
    private float[] _columnWeight = [];

    /// <summary>Creates an augmentation; with the defaults it leaves images unchanged.</summary>
    /// <param name="horizontalFlip">Mirror each image left-right with probability 1/2.</param>
    /// <param name="maxShift">Shift each image by a random whole number of pixels in [−maxShift, maxShift], independently in each direction.</param>
    /// <param name="seed">Seed of the random draws.</param>
    /// <param name="widthShiftRange">Shift each image left or right by up to this fraction of its width, uniformly (Keras's <c>width_shift_range</c> as a float), in [0, 1).</param>
    /// <param name="heightShiftRange">Shift each image up or down by up to this fraction of its height (Keras's <c>height_shift_range</c>), in [0, 1).</param>
    /// <param name="fillMode">What fills the pixels a shift uncovers.</param>
    /// <param name="interpolation">How fractional shifts read between pixels.</param>
    /// <exception cref="ArgumentOutOfRangeException">A shift is negative or a range is not in [0, 1).</exception>
    /// <exception cref="ArgumentException">Both whole-pixel and fractional shifts were asked for.</exception>
    public ImageAugmentation(bool horizontalFlip = false, int maxShift = 0, int seed = 0,
        float widthShiftRange = 0f, float heightShiftRange = 0f, ImageFillMode fillMode = ImageFillMode.Constant,
        ImageInterpolation interpolation = ImageInterpolation.Bilinear)
    {
        if (maxShift < 0)
            throw new ArgumentOutOfRangeException(nameof(maxShift), maxShift, "The maximum shift must be non-negative.");
        CheckRange(widthShiftRange, nameof(widthShiftRange));
        CheckRange(heightShiftRange, nameof(heightShiftRange));
        if (maxShift > 0 && (widthShiftRange > 0f || heightShiftRange > 0f))
            throw new ArgumentException("Ask for whole-pixel shifts (maxShift) or fractional shifts (widthShiftRange, heightShiftRange), not both.");
        if (!Enum.IsDefined(fillMode))
            throw new ArgumentOutOfRangeException(nameof(fillMode), fillMode, "Unknown fill mode.");
        if (!Enum.IsDefined(interpolation))
            throw new ArgumentOutOfRangeException(nameof(interpolation), interpolation, "Unknown interpolation.");
        HorizontalFlip = horizontalFlip;
        MaxShift = maxShift;
        WidthShiftRange = widthShiftRange;
        HeightShiftRange = heightShiftRange;
        FillMode = fillMode;
        Interpolation = interpolation;
        Random = new RandomStream((ulong)seed, RandomStreamIds.Augmentation);
    }

    private static void CheckRange(float range, string name)
    {
        if (!(range >= 0f && range < 1f))
            throw new ArgumentOutOfRangeException(name, range, "A shift range is a fraction of the image size in [0, 1).");
    }

    /// <summary>
    /// The generator of the draws: per image, one <see cref="RandomStream.NextInt"/> for the flip (when
    /// enabled), then the vertical and the horizontal shift (when enabled): one <see cref="RandomStream.NextInt"/>
    /// each for whole-pixel shifts, one <see cref="RandomStream.NextFloat"/> each for fractional ones. Its state
    /// can be read and restored.
    /// </summary>
    public RandomStream Random { get; }

    /// <summary>Whether images are mirrored left-right with probability 1/2.</summary>
    public bool HorizontalFlip { get; }

    /// <summary>Largest whole-pixel shift, in each direction (0 = none).</summary>
    public int MaxShift { get; }

    /// <summary>Largest horizontal shift as a fraction of the width (0 = none).</summary>
    public float WidthShiftRange { get; }

    /// <summary>Largest vertical shift as a fraction of the height (0 = none).</summary>
    public float HeightShiftRange { get; }

    /// <summary>What fills the pixels a shift uncovers.</summary>
    public ImageFillMode FillMode { get; }

    /// <summary>How fractional shifts read between pixels.</summary>
    public ImageInterpolation Interpolation { get; }

    /// <summary>Whether <see cref="Apply"/> changes anything.</summary>
    public bool IsEnabled => HorizontalFlip || MaxShift > 0 || WidthShiftRange > 0f || HeightShiftRange > 0f;

    /// <summary>Augments every image of <paramref name="images"/> (N, H, W, C) in place.</summary>
    public void Apply(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Rank != 4)
            throw new ArgumentException($"ImageAugmentation expects channels-last images (N, H, W, C), got {Shapes.Format(images.Shape)}.");
        if (!IsEnabled)
            return;
        int count = images.Dim(0), height = images.Dim(1), width = images.Dim(2), channels = images.Dim(3);
        int imageLength = height * width * channels;
        if (_scratch.Length < imageLength)
            _scratch = new float[imageLength];
        if (_columnIndex.Length < 2 * width)
        {
            _columnIndex = new int[2 * width];
            _columnWeight = new float[2 * width];
        }
        Span<float> all = images.Span;
        for (int n = 0; n < count; n++)
        {
            bool flip = HorizontalFlip && Random.NextInt(2) == 1;
            float dy = DrawShift(HeightShiftRange, height), dx = DrawShift(WidthShiftRange, width);
            if (flip || dy != 0f || dx != 0f)
                Transform(all.Slice(n * imageLength, imageLength), height, width, channels, flip, dy, dx);
        }
    }

    /// <summary>
    /// A shift in pixels: a whole number in [−MaxShift, MaxShift], or uniform in [−range·size, range·size) (rounded to
    /// the nearest whole number for <see cref="ImageInterpolation.Nearest"/>).
    /// </summary>
    private float DrawShift(float range, int size)
    {
        if (MaxShift > 0)
            return Random.NextInt(2 * MaxShift + 1) - MaxShift;
        if (range <= 0f)
            return 0f;
        float shift = range * size * (2f * Random.NextFloat() - 1f);
        return Interpolation == ImageInterpolation.Nearest ? MathF.Round(shift) : shift;
    }

    /// <summary>
    /// out(y, x) = in'(y + dy, x + dx), where in' is the (optionally mirrored) input read with bilinear
    /// interpolation, and outside the image either 0 or the nearest edge pixel. For whole-pixel shifts the
    /// interpolation weights are 0 and this is a plain copy.
    /// </summary>
    private void Transform(Span<float> image, int height, int width, int channels, bool flip, float dy, float dx)
    {
        Span<float> source = _scratch.AsSpan(0, image.Length);
        image.CopyTo(source);
        // The shift is the same for every pixel, so each output column reads the same two source columns with
        // the same two weights in every row: work them out once (index −1 marks a zero-filled tap).
        Span<int> columns = _columnIndex.AsSpan(0, 2 * width);
        Span<float> columnWeights = _columnWeight.AsSpan(0, 2 * width);
        for (int x = 0; x < width; x++)
        {
            Taps(x + dx, width, out int left, out int right, out float rightWeight);
            columns[2 * x] = flip && left >= 0 ? width - 1 - left : left;
            columns[2 * x + 1] = flip && right >= 0 ? width - 1 - right : right;
            columnWeights[2 * x] = 1f - rightWeight;
            columnWeights[2 * x + 1] = rightWeight;
        }
        int rowLength = width * channels;
        for (int y = 0; y < height; y++)
        {
            Taps(y + dy, height, out int top, out int bottom, out float bottomWeight);
            Span<float> outRow = image.Slice(y * rowLength, rowLength);
            for (int x = 0; x < width; x++)
            {
                Span<float> outPixel = outRow.Slice(x * channels, channels);
                for (int c = 0; c < channels; c++)
                {
                    float topValue = Sample(source, top, columns, columnWeights, x, c, rowLength, channels);
                    float bottomValue = bottomWeight == 0f ? 0f : Sample(source, bottom, columns, columnWeights, x, c, rowLength, channels);
                    outPixel[c] = bottomWeight == 0f ? topValue : (1f - bottomWeight) * topValue + bottomWeight * bottomValue;
                }
            }
        }
    }

    /// <summary>Row <paramref name="row"/> of the source, interpolated between output column x's two taps.</summary>
    private static float Sample(ReadOnlySpan<float> source, int row, ReadOnlySpan<int> columns, ReadOnlySpan<float> weights,
        int x, int c, int rowLength, int channels)
    {
        if (row < 0)
            return 0f;
        int left = columns[2 * x], right = columns[2 * x + 1];
        float rightWeight = weights[2 * x + 1];
        float leftValue = left < 0 ? 0f : source[row * rowLength + left * channels + c];
        if (rightWeight == 0f)
            return leftValue;
        float rightValue = right < 0 ? 0f : source[row * rowLength + right * channels + c];
        return weights[2 * x] * leftValue + rightWeight * rightValue;
    }

    /// <summary>
    /// The two source positions around coordinate <paramref name="position"/> (⌊p⌋ and ⌊p⌋ + 1) and the weight of
    /// the second; positions outside [0, size) become the nearest edge (Nearest) or −1 (Constant: a zero).
    /// </summary>
    private void Taps(float position, int size, out int first, out int second, out float secondWeight)
    {
        float floor = MathF.Floor(position);
        secondWeight = position - floor;
        first = Inside((int)floor, size);
        second = Inside((int)floor + 1, size);
    }

    private int Inside(int index, int size) =>
        index >= 0 && index < size ? index : FillMode == ImageFillMode.Nearest ? Math.Clamp(index, 0, size - 1) : -1;
}
