namespace NanoNet.Data;

/// <summary>
/// Seeded random augmentation of a batch of channels-last images (N, H, W, C), in place: horizontal
/// flips and shifts with zero fill. Everything is off unless asked for.
/// </summary>
/// <remarks>
/// A shift by (dy, dx) with zero fill is the same as the usual "pad by <see cref="MaxShift"/> zeros
/// on every side, then crop a random H×W window". Apply it to training batches only (they are copies,
/// see <see cref="MiniBatchLoader.BatchTransform"/>), never to the data set itself. The random draws
/// come from <see cref="Random"/> (stream <see cref="RandomStreamIds.Augmentation"/> of the seed) and depend
/// only on the seed and the sequence of calls, so runs are reproducible; save <c>Random.State</c> in a
/// checkpoint and <c>Random.Restore</c> it to continue with the same draws. An instance keeps a scratch
/// buffer and a random generator: use one per thread.
/// </remarks>
/// <example><code>
/// var augmentation = new ImageAugmentation(horizontalFlip: true, maxShift: 4, seed: 1);
/// var loader = new MiniBatchLoader(train, 128) { BatchTransform = batch => augmentation.Apply(batch.Features) };
/// </code></example>
public sealed class ImageAugmentation
{
    private float[] _scratch = [];

    /// <summary>Creates an augmentation; with the defaults it leaves images unchanged.</summary>
    /// <param name="horizontalFlip">Mirror each image left-right with probability 1/2.</param>
    /// <param name="maxShift">Shift each image by a random whole number of pixels in [−maxShift, maxShift], independently in each direction, filling with zeros.</param>
    /// <param name="seed">Seed of the random draws.</param>
    public ImageAugmentation(bool horizontalFlip = false, int maxShift = 0, int seed = 0)
    {
        if (maxShift < 0)
            throw new ArgumentOutOfRangeException(nameof(maxShift), maxShift, "The maximum shift must be non-negative.");
        HorizontalFlip = horizontalFlip;
        MaxShift = maxShift;
        Random = new RandomStream((ulong)seed, RandomStreamIds.Augmentation);
    }

    /// <summary>
    /// The generator of the draws: per image, one <see cref="RandomStream.NextInt"/> for the flip (when
    /// enabled), then one each for the vertical and horizontal shift (when enabled). Its state can be read
    /// and restored.
    /// </summary>
    public RandomStream Random { get; }

    /// <summary>Whether images are mirrored left-right with probability 1/2.</summary>
    public bool HorizontalFlip { get; }

    /// <summary>Largest shift in pixels, in each direction (0 = no shifting).</summary>
    public int MaxShift { get; }

    /// <summary>Whether <see cref="Apply"/> changes anything.</summary>
    public bool IsEnabled => HorizontalFlip || MaxShift > 0;

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
        Span<float> all = images.Span;
        for (int n = 0; n < count; n++)
        {
            bool flip = HorizontalFlip && Random.NextInt(2) == 1;
            int dy = MaxShift > 0 ? Random.NextInt(2 * MaxShift + 1) - MaxShift : 0;
            int dx = MaxShift > 0 ? Random.NextInt(2 * MaxShift + 1) - MaxShift : 0;
            if (flip || dy != 0 || dx != 0)
                Transform(all.Slice(n * imageLength, imageLength), height, width, channels, flip, dy, dx);
        }
    }

    /// <summary>out(y, x) = in'(y + dy, x + dx), where in' is the (optionally mirrored) input, and 0 outside it.</summary>
    private void Transform(Span<float> image, int height, int width, int channels, bool flip, int dy, int dx)
    {
        Span<float> source = _scratch.AsSpan(0, image.Length);
        image.CopyTo(source);
        image.Clear();
        int rowLength = width * channels;
        for (int y = 0; y < height; y++)
        {
            int sourceY = y + dy;
            if (sourceY < 0 || sourceY >= height)
                continue;
            Span<float> outRow = image.Slice(y * rowLength, rowLength);
            ReadOnlySpan<float> inRow = source.Slice(sourceY * rowLength, rowLength);
            for (int x = 0; x < width; x++)
            {
                int sourceX = x + dx;
                if (sourceX < 0 || sourceX >= width)
                    continue;
                if (flip)
                    sourceX = width - 1 - sourceX;
                inRow.Slice(sourceX * channels, channels).CopyTo(outRow.Slice(x * channels, channels));
            }
        }
    }
}
