using NanoNet.Data;

namespace NanoNet.Tests.Data;

public class ImageAugmentationTests
{
    private const int H = 5, W = 6, C = 2;

    /// <summary>Images whose every value is distinct and non-zero: value = 1 + index.</summary>
    private static Tensor Images(int count)
    {
        var t = Tensor.Zeros(count, H, W, C);
        for (int i = 0; i < t.Length; i++)
            t[i] = 1 + i;
        return t;
    }

    private static float Pixel(Tensor images, int n, int y, int x, int c) => images[((n * H + y) * W + x) * C + c];

    /// <summary>The expected result of flipping (optionally) and then shifting image n by (dy, dx).</summary>
    private static float[] Expected(Tensor original, int n, bool flip, int dy, int dx)
    {
        var result = new float[H * W * C];
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int c = 0; c < C; c++)
                {
                    int sy = y + dy, sx = x + dx;
                    bool inside = sy >= 0 && sy < H && sx >= 0 && sx < W;
                    result[(y * W + x) * C + c] = inside ? Pixel(original, n, sy, flip ? W - 1 - sx : sx, c) : 0f;
                }
        return result;
    }

    private static bool MatchesSome(Tensor original, Tensor augmented, int n, bool flips, int maxShift)
    {
        float[] actual = augmented.SliceRows(n, 1).ToArray();
        foreach (bool flip in flips ? new[] { false, true } : new[] { false })
            for (int dy = -maxShift; dy <= maxShift; dy++)
                for (int dx = -maxShift; dx <= maxShift; dx++)
                    if (Expected(original, n, flip, dy, dx).AsSpan().SequenceEqual(actual))
                        return true;
        return false;
    }

    [Test]
    public void Off_by_default()
    {
        var images = Images(3);
        var augmentation = new ImageAugmentation();
        Assert.That(augmentation.IsEnabled, Is.False);
        augmentation.Apply(images);
        Assert.That(images.ToArray(), Is.EqualTo(Images(3).ToArray()));
    }

    [Test]
    public void Horizontal_flip_mirrors_about_half_of_the_images()
    {
        var original = Images(200);
        var images = original.Clone();
        new ImageAugmentation(horizontalFlip: true, seed: 3).Apply(images);
        int flipped = 0;
        for (int n = 0; n < 200; n++)
        {
            float[] actual = images.SliceRows(n, 1).ToArray();
            bool isFlipped = Expected(original, n, true, 0, 0).AsSpan().SequenceEqual(actual);
            bool isSame = original.SliceRows(n, 1).ToArray().AsSpan().SequenceEqual(actual);
            Assert.That(isFlipped || isSame, $"image {n} is neither itself nor its mirror");
            flipped += isFlipped ? 1 : 0;
        }
        Assert.That(flipped, Is.InRange(70, 130));
    }

    [Test]
    public void Shift_moves_images_by_at_most_max_shift_and_fills_with_zeros()
    {
        var original = Images(40);
        var images = original.Clone();
        new ImageAugmentation(horizontalFlip: true, maxShift: 2, seed: 5).Apply(images);
        int changed = 0;
        for (int n = 0; n < 40; n++)
        {
            Assert.That(MatchesSome(original, images, n, flips: true, maxShift: 2), $"image {n}");
            changed += original.SliceRows(n, 1).ToArray().AsSpan().SequenceEqual(images.SliceRows(n, 1).ToArray()) ? 0 : 1;
        }
        Assert.That(changed, Is.GreaterThan(30));
    }

    [Test]
    public void The_same_seed_gives_the_same_augmentation()
    {
        var a = Images(10);
        var b = Images(10);
        new ImageAugmentation(true, 3, seed: 9).Apply(a);
        new ImageAugmentation(true, 3, seed: 9).Apply(b);
        Assert.That(a.ToArray(), Is.EqualTo(b.ToArray()));
    }

    [Test]
    public void A_restored_random_state_repeats_the_same_augmentation()
    {
        var augmentation = new ImageAugmentation(true, 3, seed: 9);
        augmentation.Apply(Images(4));
        RandomStreamState saved = augmentation.Random.State;
        var next = Images(10);
        augmentation.Apply(next);

        var resumed = new ImageAugmentation(true, 3, seed: 0);
        resumed.Random.Restore(saved);
        var again = Images(10);
        resumed.Apply(again);
        Assert.That(again.ToArray(), Is.EqualTo(next.ToArray()));
    }

    [Test]
    public void A_loader_batch_transform_augments_copies_not_the_data_set()
    {
        var images = Images(8);
        var data = new Dataset(images, Tensor.Zeros(8));
        var augmentation = new ImageAugmentation(horizontalFlip: true, maxShift: 1, seed: 2);
        var loader = new MiniBatchLoader(data, 4, shuffle: false) { BatchTransform = batch => augmentation.Apply(batch.Features) };
        bool anyChanged = false;
        int start = 0;
        foreach (Dataset batch in loader.NextEpoch())
        {
            anyChanged |= !batch.Features.ToArray().AsSpan().SequenceEqual(images.SliceRows(start, 4).ToArray());
            start += 4;
        }
        Assert.That(anyChanged);
        Assert.That(images.ToArray(), Is.EqualTo(Images(8).ToArray()));
    }

    /// <summary>
    /// The naive twin of a fractional shift: out(y, x) = bilinear read of the edge-extended (Nearest) or
    /// zero-extended (Constant) mirrored image at (y + dy, x + dx), in double precision.
    /// </summary>
    private static float[] ExpectedBilinear(Tensor original, int n, bool flip, double dy, double dx, ImageFillMode fill)
    {
        double Read(int y, int x, int c)
        {
            if (fill == ImageFillMode.Nearest)
            {
                y = Math.Clamp(y, 0, H - 1);
                x = Math.Clamp(x, 0, W - 1);
            }
            else if (y < 0 || y >= H || x < 0 || x >= W)
                return 0;
            return Pixel(original, n, y, flip ? W - 1 - x : x, c);
        }
        var result = new float[H * W * C];
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int c = 0; c < C; c++)
                {
                    double sy = y + dy, sx = x + dx;
                    int y0 = (int)Math.Floor(sy), x0 = (int)Math.Floor(sx);
                    double wy = sy - y0, wx = sx - x0;
                    result[(y * W + x) * C + c] = (float)(
                        (1 - wy) * ((1 - wx) * Read(y0, x0, c) + wx * Read(y0, x0 + 1, c)) +
                        wy * ((1 - wx) * Read(y0 + 1, x0, c) + wx * Read(y0 + 1, x0 + 1, c)));
                }
        return result;
    }

    [TestCase(ImageFillMode.Nearest)]
    [TestCase(ImageFillMode.Constant)]
    public void Fractional_shifts_match_a_bilinear_reference_with_the_documented_draws(ImageFillMode fill)
    {
        const float range = 0.3f;
        var original = Images(30);
        var images = original.Clone();
        new ImageAugmentation(horizontalFlip: true, seed: 4, widthShiftRange: range, heightShiftRange: range, fillMode: fill).Apply(images);

        // The documented draw order: per image, the flip, then the vertical and the horizontal shift.
        var draws = new RandomStream(4, RandomStreamIds.Augmentation);
        int fractional = 0;
        for (int n = 0; n < 30; n++)
        {
            bool flip = draws.NextInt(2) == 1;
            float dy = range * H * (2f * draws.NextFloat() - 1f), dx = range * W * (2f * draws.NextFloat() - 1f);
            Assert.That(Math.Abs(dy), Is.LessThanOrEqualTo(range * H));
            fractional += dy != MathF.Floor(dy) ? 1 : 0;
            float[] expected = ExpectedBilinear(original, n, flip, dy, dx, fill);
            float[] actual = images.SliceRows(n, 1).ToArray();
            for (int i = 0; i < expected.Length; i++)
                Assert.That(actual[i], Is.EqualTo(expected[i]).Within(1e-3f * Math.Abs(expected[i]) + 1e-4f), $"image {n}, element {i}");
        }
        Assert.That(fractional, Is.GreaterThan(25), "the shifts should be fractional");
    }

    [Test]
    public void Nearest_fill_repeats_the_edge_pixels_for_whole_pixel_shifts()
    {
        var original = Images(20);
        var images = original.Clone();
        new ImageAugmentation(maxShift: 2, seed: 6, fillMode: ImageFillMode.Nearest).Apply(images);
        var draws = new RandomStream(6, RandomStreamIds.Augmentation);
        for (int n = 0; n < 20; n++)
        {
            int dy = draws.NextInt(5) - 2, dx = draws.NextInt(5) - 2;
            Assert.That(images.SliceRows(n, 1).ToArray(), Is.EqualTo(ExpectedBilinear(original, n, false, dy, dx, ImageFillMode.Nearest)), $"image {n}");
        }
    }

    [Test]
    public void Whole_pixel_and_fractional_shifts_cannot_be_combined_and_ranges_are_fractions()
    {
        Assert.Throws<ArgumentException>(() => new ImageAugmentation(maxShift: 2, widthShiftRange: 0.1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageAugmentation(widthShiftRange: 1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageAugmentation(heightShiftRange: -0.1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageAugmentation(heightShiftRange: float.NaN));
    }

    [Test]
    public void Nearest_interpolation_rounds_fractional_shifts_to_whole_pixels()
    {
        const float range = 0.3f;
        var original = Images(30);
        var images = original.Clone();
        new ImageAugmentation(seed: 8, widthShiftRange: range, heightShiftRange: range, fillMode: ImageFillMode.Nearest,
            interpolation: ImageInterpolation.Nearest).Apply(images);
        var draws = new RandomStream(8, RandomStreamIds.Augmentation);
        for (int n = 0; n < 30; n++)
        {
            float dy = MathF.Round(range * H * (2f * draws.NextFloat() - 1f)), dx = MathF.Round(range * W * (2f * draws.NextFloat() - 1f));
            Assert.That(images.SliceRows(n, 1).ToArray(), Is.EqualTo(ExpectedBilinear(original, n, false, dy, dx, ImageFillMode.Nearest)), $"image {n}");
        }
    }
}
