using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// Dropout's keep-mask as bits (<see cref="DropoutBits"/>): the forward's y and bits, and the backward's dX = dY ⊙ m or
/// dX += dY ⊙ m split over 1–3 workers on 64-element boundaries, must be bit for bit the element rule: element i kept when
/// its 16 random bits are at least the threshold, m_i = scale or 0, y_i = x_i·m_i (NaN where a NaN or ∞ is dropped).
/// </summary>
[NonParallelizable] // sets Parallelism.MaxThreads, which is process-wide
public unsafe class DropoutBitsTests
{
    private static uint Half(uint[] words, int i) => i % 2 == 0 ? words[i / 2] & 0xFFFF : words[i / 2] >> 16;

    // Whole vectors of every width and tails; thresholds 0.25 and 0.5 of 2^16, 1, the largest 16-bit one and 2^16
    // (nothing kept: the scalar path).
    [TestCase(1, 16384u)]
    [TestCase(31, 16384u)]
    [TestCase(32, 32768u)]
    [TestCase(33, 1u)]
    [TestCase(2048, 16384u)]
    [TestCase(2048 - 37, 65535u)]
    [TestCase(1000, 65536u)]
    public void TheForwardKeepsEachElementByTheRuleAndKeepsItsBit(int count, uint threshold)
    {
        var rng = new Random(count);
        var words = new uint[(count + 1) / 2];
        for (int w = 0; w < words.Length; w++)
            words[w] = (uint)rng.NextInt64(1L << 32);
        words[0] = (words[0] & 0xFFFF0000) | 0xFFFF; // element 0 at the top of the 16-bit range
        float[] x = new float[count];
        for (int i = 0; i < count; i++)
            x[i] = rng.NextSingle() * 4 - 2;
        x[0] = float.NaN;
        if (count > 5)
            (x[3], x[4], x[5]) = (float.PositiveInfinity, -0f, float.NegativeInfinity);
        const float Scale = 1f / 0.75f;
        float[] y = new float[count];
        int[] bits = Enumerable.Repeat(-1, DropoutBits.Length(count)).ToArray();
        fixed (float* px = x, py = y)
        fixed (int* pb = bits)
            DropoutBits.Forward(words, threshold, Scale, px, py, pb, count);
        for (int i = 0; i < count; i++)
        {
            bool keep = Half(words, i) >= threshold;
            Assert.That((bits[i / 32] >> (i % 32) & 1) == 1, Is.EqualTo(keep), $"bit {i}");
            Assert.That(BitConverter.SingleToInt32Bits(y[i]), Is.EqualTo(BitConverter.SingleToInt32Bits(x[i] * (keep ? Scale : 0f))), $"y[{i}]");
        }
        if (count % 32 != 0) // the last word's unused bits are clear
            Assert.That(bits[^1] >> (count % 32), Is.Zero);
    }

    // Above the threshold and not a multiple of 64 (the last piece ends in a tail); below it (one worker).
    [TestCase(DropoutBits.ParallelThreshold * 3 + 37)]
    [TestCase(1000)]
    public void TheBackwardStoresOrAddsEachProductWhateverTheWorkers(int length)
    {
        const float Scale = 1f / 0.75f;
        var rng = new Random(3);
        float[] dY = new float[length], start = new float[length];
        int[] bits = new int[DropoutBits.Length(length)];
        for (int i = 0; i < length; i++)
        {
            dY[i] = rng.NextSingle() * 2 - 1;
            if (rng.Next(4) != 0)
                bits[i / 32] |= 1 << (i % 32);
            start[i] = rng.NextSingle();
        }
        dY[1] = float.NaN; // kept or dropped, a NaN stays a NaN (NaN·0)
        dY[2] = float.PositiveInfinity;
        foreach (bool overwrite in new[] { true, false })
        {
            var expected = new float[length];
            for (int i = 0; i < length; i++)
            {
                float m = (bits[i / 32] >> (i % 32) & 1) == 1 ? Scale : 0f;
                expected[i] = overwrite ? dY[i] * m : dY[i] * m + start[i]; // two roundings
            }
            foreach (int threads in new[] { 1, 2, 3 })
            {
                float[] dX = overwrite ? Enumerable.Repeat(float.NaN, length).ToArray() : (float[])start.Clone();
                int saved = Parallelism.MaxThreads;
                try
                {
                    Parallelism.MaxThreads = threads;
                    DropoutBits.Backward(dY, bits, Scale, dX, overwrite);
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
    public void LengthsThatDisagreeAreAnError()
    {
        Assert.Throws<ArgumentException>(() => DropoutBits.Backward(new float[5], new int[1], 2f, new float[4], overwrite: true));
        Assert.Throws<ArgumentException>(() => DropoutBits.Backward(new float[33], new int[1], 2f, new float[33], overwrite: true));
        Assert.Throws<ArgumentException>(() => new RandomStream(1).FillDropoutBits(0.5f, new float[33], new float[33], new int[1]));
        Assert.Throws<ArgumentException>(() => new RandomStream(1).FillDropoutBits(0.5f, new float[33], new float[32], new int[2]));
    }
}
