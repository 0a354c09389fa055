using System.Runtime.Intrinsics;

namespace NanoNet.Tests;

/// <summary>
/// The vectorized Philox (<see cref="PhiloxLanes"/>) and the vectorized float conversions against their scalar twins,
/// bit for bit: many keys, streams and counters, odd lengths, ranges that start in the middle of a block, counters
/// whose low word carries into the next; and Dropout's masks at 1, 2 and 3 threads against the scalar rule.
/// </summary>
public class PhiloxVectorTests
{
    private static readonly ulong[] Seeds = [0, 1, 42, 0xFFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFF, 0x0123_4567_89ab_cdef];
    private static readonly ulong[] Streams = [0, 3, 0xFFFF_FFFF, 0x1_0000_0000, 0xFFFF_FFFF_FFFF_FFFF];

    [Test]
    public void VectorizedRangesEqualScalarBlocks()
    {
        // Positions: the start, just past it (mid-block), a block index whose low word is about to carry
        // (block 2^32 − 3, so the range crosses 2^32), and one near the top of the 64-bit position space.
        ulong carry = (0xFFFF_FFFFUL - 2) * 4;
        ulong[] positions = [0, 1, 2, 3, 5, carry, carry + 1, carry + 3, 0x1_0000_0000UL * 4 - 7, ulong.MaxValue - 4096];
        int[] lengths = [0, 1, 2, 3, 4, 5, 7, 8, 13, 15, 16, 17, 31, 63, 64, 65, 100, 1023, 1024, 1027];
        int cases = 0;
        foreach (ulong seed in Seeds)
            foreach (ulong stream in Streams)
                foreach (ulong position in positions)
                    foreach (int length in lengths)
                    {
                        AssertSameWords(PhiloxKey.From(seed), stream, position, length);
                        cases++;
                    }
        Assert.That(cases, Is.EqualTo(Seeds.Length * Streams.Length * positions.Length * lengths.Length));
    }

    [Test]
    public void RandomKeysCountersAndLengthsEqualScalarBlocks()
    {
        var rng = new Random(2024);
        for (int trial = 0; trial < 300; trial++)
        {
            var key = new PhiloxKey((uint)rng.NextInt64(0, 1L << 32), (uint)rng.NextInt64(0, 1L << 32));
            ulong stream = (ulong)rng.NextInt64() ^ ((ulong)rng.Next() << 40);
            ulong position = (ulong)rng.NextInt64(0, long.MaxValue) >> rng.Next(0, 40);
            AssertSameWords(key, stream, position, rng.Next(0, 300));
        }
    }

    private static void AssertSameWords(PhiloxKey key, ulong stream, ulong position, int length)
    {
        var expected = new uint[length];
        var actual = new uint[length + 1];
        actual[length] = 0xDEAD_BEEF; // a guard: nothing may be written past the range
        RandomStream.GenerateReference(key, stream, position, expected);
        PhiloxLanes.Generate(key, stream, position, actual.AsSpan(0, length));
        Assert.That(actual.AsSpan(0, length).ToArray(), Is.EqualTo(expected).AsCollection,
            $"key ({key.K0:x8}, {key.K1:x8}), stream {stream:x}, position {position:x}, length {length}");
        Assert.That(actual[length], Is.EqualTo(0xDEAD_BEEF), "wrote past the end");
    }

    /// <summary>The even-lane 32×32→64 multiply, intrinsic (where the machine has it) and portable, against scalar products.</summary>
    [Test]
    public void EvenLaneProductsAreFull64BitProducts()
    {
        var rng = new Random(5);
        uint[] a = new uint[16], b = new uint[16];
        for (int trial = 0; trial < 200; trial++)
        {
            for (int i = 0; i < 16; i++)
            {
                a[i] = trial == 0 ? uint.MaxValue : (uint)rng.NextInt64(0, 1L << 32);
                b[i] = trial == 0 ? uint.MaxValue : (uint)rng.NextInt64(0, 1L << 32);
            }
            ulong[] expected = [.. Enumerable.Range(0, 8).Select(j => (ulong)a[2 * j] * b[2 * j])];
            Assert.That(Lanes(PhiloxLanes.MultiplyEvenLanes(Vector512.Create(a), Vector512.Create(b))), Is.EqualTo(expected).AsCollection);
            Assert.That(Lanes(PhiloxLanes.MultiplyEvenLanesPortable(Vector512.Create(a), Vector512.Create(b))), Is.EqualTo(expected).AsCollection);
            Assert.That(Lanes(PhiloxLanes.MultiplyEvenLanes(Vector256.Create(a), Vector256.Create(b))), Is.EqualTo(expected[..4]).AsCollection);
            Assert.That(Lanes(PhiloxLanes.MultiplyEvenLanesPortable(Vector256.Create(a), Vector256.Create(b))), Is.EqualTo(expected[..4]).AsCollection);
            Assert.That(Lanes(PhiloxLanes.MultiplyEvenLanes(Vector128.Create(a), Vector128.Create(b))), Is.EqualTo(expected[..2]).AsCollection);
            Assert.That(Lanes(PhiloxLanes.MultiplyEvenLanesPortable(Vector128.Create(a), Vector128.Create(b))), Is.EqualTo(expected[..2]).AsCollection);
        }
    }

    private static ulong[] Lanes(Vector512<ulong> v) { var r = new ulong[8]; v.CopyTo(r); return r; }
    private static ulong[] Lanes(Vector256<ulong> v) { var r = new ulong[4]; v.CopyTo(r); return r; }
    private static ulong[] Lanes(Vector128<ulong> v) { var r = new ulong[2]; v.CopyTo(r); return r; }

    /// <summary>The vector conversions against the scalar formulas, on an odd length, including values exactly on the rate.</summary>
    [TestCase(0.25f)]
    [TestCase(0.5f)]
    [TestCase(0.1f)]
    public void ConversionsEqualTheScalarFormulas(float rate)
    {
        var rng = new Random(11);
        uint onRate = (uint)(rate * (1 << 24)) << 8; // u = rate exactly when rate is on the 2^-24 grid
        uint[] words = [.. Enumerable.Range(0, 203).Select(i => i % 13 == 0 ? onRate | (uint)(i & 0xFF) : i % 13 == 1 ? onRate - 1 : (uint)rng.NextInt64(0, 1L << 32))];
        words[5] = 0;
        words[6] = uint.MaxValue;
        const float FloatUnit = 1f / (1 << 24);
        float scale = 1f / (1f - rate);

        var uniform = new float[words.Length];
        UniformConversion.ToUniform(words, uniform, -2f, 5f);
        Assert.That(uniform, Is.EqualTo(words.Select(w => -2f + 5f * ((w >> 8) * FloatUnit)).ToArray()).AsCollection);

        // The mask: two elements per value (low half, then high half), an odd count so the last value's high half is unused;
        // halves just on and just below the threshold included. Kept when h/2^16 ≥ rate, computed in double here.
        uint threshold = (uint)Math.Ceiling(rate * 65536.0);
        words[7] = threshold | (threshold - 1) << 16;
        words[8] = (threshold - 1) | threshold << 16;
        var mask = new float[2 * words.Length - 1];
        UniformConversion.ToScaledMask(words, mask, UniformConversion.KeepThreshold(rate), scale);
        float[] expected = [.. Enumerable.Range(0, mask.Length).Select(i => (i % 2 == 0 ? words[i / 2] & 0xFFFF : words[i / 2] >> 16) / 65536.0 >= rate ? scale : 0f)];
        Assert.That(mask, Is.EqualTo(expected).AsCollection);
        Assert.That(mask[14], Is.EqualTo(scale), "on the threshold: kept");
        Assert.That(mask[15], Is.EqualTo(0f), "one below: dropped");
        Assert.That(() => UniformConversion.ToScaledMask(words.AsSpan(0, 10), new float[21], 1, 1f), Throws.ArgumentException);
    }

    /// <summary>The 16-bit keep threshold: ⌈rate·2^16⌉, so that the keep probability is the rate's when it lies on the 2^−16 grid.</summary>
    [TestCase(0.25f, 16384u)]
    [TestCase(0.5f, 32768u)]
    [TestCase(0.1f, 6554u)]
    [TestCase(0f, 0u)]
    [TestCase(0.99999f, 65536u)]
    public void KeepThresholdIsTheRateOnTheSixteenBitGridRoundedUp(float rate, uint threshold) =>
        Assert.That(UniformConversion.KeepThreshold(rate), Is.EqualTo(threshold));

    /// <summary>
    /// Dropout's mask on a tensor big enough to be split across workers, from a position in the middle of a block:
    /// at 1, 2 and 3 threads, the scalar generator and the scalar rule's mask (in y = x ⊙ mask and in the gradient), and the
    /// stream advanced by its length.
    /// </summary>
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public void DropoutMaskEqualsTheScalarRuleAtAnyThreadCount(int threads)
    {
        const float Rate = 0.3f;
        int length = RandomStream.ParallelThreshold * 3 + 77;
        var random = new RandomStream(1234, RandomStreamIds.Dropout);
        random.NextUInt32(); // start in the middle of a block
        ulong start = random.Position;

        var words = new uint[(length + 1) / 2];
        RandomStream.GenerateReference(PhiloxKey.From(1234), RandomStreamIds.Dropout, start, words);
        float scale = 1f / (1f - Rate);
        // Element i: the low (even i) or high (odd i) 16 bits of value i/2, kept when h/2^16 ≥ rate.
        float[] expected = [.. Enumerable.Range(0, length).Select(i => (i % 2 == 0 ? words[i / 2] & 0xFFFF : words[i / 2] >> 16) / 65536.0 >= Rate ? scale : 0f)];

        int saved = Parallelism.MaxThreads;
        Parallelism.MaxThreads = threads;
        try
        {
            // y = x ⊙ mask is computed piece by piece with the mask (RandomStream.FillDropoutMask's fused pass): check it
            // against the scalar mask times x, and the saved mask through the backward pass (dX = dY ⊙ mask, dY = 1).
            Tensor x = Tensor.RandomUniform([length], -2, 2, seed: 9).AsParameter();
            Tensor y = Ops.Dropout(x, Rate, random);
            float[] xs = x.Span.ToArray();
            Assert.That(y.Span.ToArray(), Is.EqualTo(expected.Select((m, i) => xs[i] * m).ToArray()).AsCollection);
            Assert.That(random.Position, Is.EqualTo(start + (ulong)(length + 1) / 2));
            Ops.Sum(y).Backward();
            Assert.That(x.Grad!.Span.ToArray(), Is.EqualTo(expected).AsCollection);
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }
}
