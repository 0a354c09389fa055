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
}
