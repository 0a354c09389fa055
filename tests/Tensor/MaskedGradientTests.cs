using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// Dropout's backward (<see cref="MaskedGradient"/>): dX = dY ⊙ m or dX += dY ⊙ m, split over 1–3 workers on 64-element
/// boundaries, must be bit for bit the element-by-element products (and sums) one thread computes.
/// </summary>
[NonParallelizable] // sets Parallelism.MaxThreads, which is process-wide
public class MaskedGradientTests
{
    // Above the threshold and not a multiple of 64 (the last piece ends in a tail); below it (one worker).
    [TestCase(MaskedGradient.ParallelThreshold * 3 + 37)]
    [TestCase(1000)]
    public void StoresOrAddsEachProductWhateverTheWorkers(int length)
    {
        var rng = new Random(3);
        float[] dY = new float[length], mask = new float[length], start = new float[length];
        for (int i = 0; i < length; i++)
        {
            dY[i] = rng.NextSingle() * 2 - 1;
            mask[i] = rng.Next(4) == 0 ? 0f : 1f / 0.75f;
            start[i] = rng.NextSingle();
        }
        foreach (bool overwrite in new[] { true, false })
        {
            var expected = new float[length];
            for (int i = 0; i < length; i++)
                expected[i] = overwrite ? dY[i] * mask[i] : dY[i] * mask[i] + start[i]; // two roundings, as MultiplyAdd
            foreach (int threads in new[] { 1, 2, 3 })
            {
                float[] dX = overwrite ? Enumerable.Repeat(float.NaN, length).ToArray() : (float[])start.Clone();
                int saved = Parallelism.MaxThreads;
                try
                {
                    Parallelism.MaxThreads = threads;
                    MaskedGradient.Backward(dY, mask, dX, overwrite);
                }
                finally
                {
                    Parallelism.MaxThreads = saved;
                }
                Assert.That(dX, Is.EqualTo(expected).AsCollection, $"overwrite {overwrite}, {threads} thread(s)");
            }
        }
    }

    [Test]
    public void LengthsThatDifferAreAnError() =>
        Assert.Throws<ArgumentException>(() => MaskedGradient.Backward(new float[5], new float[5], new float[4], overwrite: true));
}
