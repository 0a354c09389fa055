namespace NanoNet.Tests;

/// <summary>Philox against its published known answers, and <see cref="RandomStream"/>'s contract: state, streams, statistics, thread-count independence.</summary>
public class RandomStreamTests
{
    // Random123's known-answer vectors for Philox4x32-10 (kat_vectors): counter, key → output.
    [TestCase(0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u,
              0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u)]
    [TestCase(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu,
              0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu)]
    [TestCase(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u,
              0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u)]
    public void PhiloxMatchesKnownAnswers(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1, uint x0, uint x1, uint x2, uint x3)
    {
        PhiloxBlock output = Philox.Generate(new PhiloxKey(k0, k1), new PhiloxBlock(c0, c1, c2, c3));
        Assert.That(output, Is.EqualTo(new PhiloxBlock(x0, x1, x2, x3)));
    }

    [Test]
    public void ValueAtPositionIsAWordOfPhiloxOfSeedBlockAndStream()
    {
        const ulong seed = 0x0123_4567_89ab_cdef, stream = 0xfedc_ba98_7654_3210;
        var random = new RandomStream(seed, stream);
        var key = new PhiloxKey(0x89ab_cdef, 0x0123_4567);
        for (ulong block = 0; block < 3; block++)
        {
            PhiloxBlock expected = Philox.Generate(key, new PhiloxBlock((uint)block, 0, 0x7654_3210, 0xfedc_ba98));
            for (int word = 0; word < 4; word++)
                Assert.That(random.NextUInt32(), Is.EqualTo(expected[word]), $"block {block}, word {word}");
        }
        Assert.That(random.Position, Is.EqualTo(12UL));
    }

    [Test]
    public void RestoredStateContinuesIdentically()
    {
        var random = new RandomStream(42, 7);
        random.NextUInt32(); // leave the position in the middle of a block
        random.NextNormal();
        random.FillUniform(new float[11], 0, 1);
        RandomStreamState saved = random.State;
        Assert.That(saved, Is.EqualTo(new RandomStreamState(42, 7, 16)));

        float[] Continue(RandomStream r)
        {
            var values = new List<float> { r.NextFloat(), r.NextNormal(), r.NextInt(1000) };
            var fill = new float[9];
            r.FillNormal(fill, 1f, 2f);
            values.AddRange(fill);
            values.Add(r.NextUInt32());
            return [.. values];
        }

        float[] expected = Continue(random);
        Assert.That(Continue(RandomStream.FromState(saved)), Is.EqualTo(expected), "FromState");
        var other = new RandomStream(1, 2);
        other.NextUInt32(); // a cached block of another stream must not leak through Restore
        other.Restore(saved);
        Assert.That(other.State, Is.EqualTo(saved));
        Assert.That(Continue(other), Is.EqualTo(expected), "Restore");
    }

    [Test]
    public void ForStreamGivesAnotherSequenceUnderTheSameSeed()
    {
        var root = new RandomStream(5);
        root.NextUInt32();
        RandomStream derived = root.ForStream(1);
        Assert.That(derived.State, Is.EqualTo(new RandomStreamState(5, 1, 0)));
        Assert.That(root.Position, Is.EqualTo(1UL), "deriving a stream leaves the parent alone");

        uint[] Draw(RandomStream r) => Enumerable.Range(0, 64).Select(_ => r.NextUInt32()).ToArray();
        uint[] stream0 = Draw(new RandomStream(5)), stream1 = Draw(derived), stream2 = Draw(root.ForStream(2));
        Assert.That(stream1, Is.Not.EqualTo(stream0));
        Assert.That(stream2, Is.Not.EqualTo(stream1));
        Assert.That(Draw(new RandomStream(6)), Is.Not.EqualTo(stream0), "another seed");
        Assert.That(Draw(new RandomStream(5, 1)), Is.EqualTo(stream1), "a stream is a pure function of (seed, id)");
    }

    [Test]
    public void UniformHasTheMeanAndVarianceOfU01()
    {
        const int n = 1_000_000;
        var values = new float[n];
        new RandomStream(11).FillUniform(values, 0f, 1f);
        double mean = values.Average(v => (double)v);
        double variance = values.Sum(v => (v - mean) * (v - mean)) / n;
        Assert.That(values.Min(), Is.GreaterThanOrEqualTo(0f));
        Assert.That(values.Max(), Is.LessThan(1f));
        // Standard errors: mean √(1/12 / n) ≈ 2.9e-4, variance √(1/180 / n) ≈ 7.5e-5; allow 5 of them.
        Assert.That(mean, Is.EqualTo(0.5).Within(1.5e-3));
        Assert.That(variance, Is.EqualTo(1.0 / 12).Within(4e-4));
    }

    [Test]
    public void NormalHasMeanZeroAndStandardDeviationOne()
    {
        const int n = 1_000_000;
        var values = new float[n];
        new RandomStream(12).FillNormal(values, 0f, 1f);
        Assert.That(values.All(float.IsFinite));
        double mean = values.Average(v => (double)v);
        double std = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / n);
        double beyondTwo = values.Count(v => Math.Abs(v) > 2f) / (double)n;
        // Standard errors: mean 1/√n = 1e-3, std 1/√(2n) ≈ 7e-4, tail fraction √(p(1−p)/n) ≈ 2e-4; allow 5.
        Assert.That(mean, Is.EqualTo(0.0).Within(5e-3));
        Assert.That(std, Is.EqualTo(1.0).Within(3.5e-3));
        Assert.That(beyondTwo, Is.EqualTo(0.0455).Within(1e-3), "P(|z| > 2) of a standard normal");

        var shifted = new float[1000];
        new RandomStream(12).FillNormal(shifted, 3f, 0.5f);
        for (int i = 0; i < shifted.Length; i++)
            Assert.That(shifted[i], Is.EqualTo(3f + 0.5f * values[i]).Within(1e-5f));
    }

    [Test]
    public void NextIntStaysInRangeAndIsUniform()
    {
        var random = new RandomStream(13);
        const int bins = 10, n = 100_000;
        var counts = new int[bins];
        for (int i = 0; i < n; i++)
            counts[random.NextInt(bins)]++;
        // Pearson's χ² with 9 degrees of freedom: 27.9 is its 99.9th percentile.
        double expected = n / (double)bins;
        double chiSquare = counts.Sum(c => (c - expected) * (c - expected) / expected);
        Assert.That(chiSquare, Is.LessThan(27.9));

        // A bound just above 2^31 / 1.5 makes plain "value mod n" visibly biased (the low third is hit twice as often).
        const int bound = 1_500_000_000;
        int low = 0;
        for (int i = 0; i < n; i++)
        {
            int value = random.NextInt(bound);
            Assert.That(value, Is.InRange(0, bound - 1));
            if (value < 4_294_967_296L - 2L * bound)
                low++;
        }
        Assert.That(low / (double)n, Is.EqualTo((4_294_967_296.0 - 2.0 * bound) / bound).Within(0.01));
        Assert.That(random.NextInt(1), Is.Zero);
        Assert.Throws<ArgumentOutOfRangeException>(() => random.NextInt(0));
    }

    [Test]
    public void LargeFillsAreBitIdenticalAtOneAndTwoThreads()
    {
        (float[] Uniform, float[] Normal) Run(int threads)
        {
            int saved = Parallelism.MaxThreads;
            Parallelism.MaxThreads = threads;
            try
            {
                var random = new RandomStream(14, 3);
                random.NextUInt32(); // start in the middle of a block
                var uniform = new float[RandomStream.ParallelThreshold * 3 + 77];
                var normal = new float[RandomStream.ParallelThreshold + 5];
                random.FillUniform(uniform, -2f, 3f);
                random.FillNormal(normal, 0.5f, 2f);
                return (uniform, normal);
            }
            finally
            {
                Parallelism.MaxThreads = saved;
            }
        }

        var one = Run(1);
        var two = Run(2);
        Assert.That(two.Uniform, Is.EqualTo(one.Uniform));
        Assert.That(two.Normal, Is.EqualTo(one.Normal));
    }

    [Test]
    public void FillsEqualTheSameDrawsOneByOne()
    {
        var bulk = new RandomStream(15);
        var scalar = new RandomStream(15);
        bulk.NextUInt32();
        scalar.NextUInt32(); // unaligned start: position 1

        var uniform = new float[1000];
        bulk.FillUniform(uniform, -1f, 1f);
        for (int i = 0; i < uniform.Length; i++)
            Assert.That(uniform[i], Is.EqualTo(-1f + 2f * scalar.NextFloat()), $"uniform {i}");
        Assert.That(bulk.Position, Is.EqualTo(scalar.Position));

        var normal = new float[3000]; // more than one chunk
        bulk.FillNormal(normal, 0f, 1f);
        for (int i = 0; i < normal.Length; i++)
            Assert.That(normal[i], Is.EqualTo(scalar.NextNormal()), $"normal {i}");
        Assert.That(bulk.Position, Is.EqualTo(scalar.Position));
        Assert.That(bulk.Position, Is.EqualTo(1UL + 1000 + 4 * 3000));
    }

    [Test]
    public void AFillSplitInTwoEqualsTheWhole()
    {
        var whole = new float[2501];
        new RandomStream(16).FillNormal(whole, 1f, 3f);
        var halves = new float[whole.Length];
        var random = new RandomStream(16);
        random.FillNormal(halves.AsSpan(0, 1250), 1f, 3f);
        random.FillNormal(halves.AsSpan(1250), 1f, 3f);
        Assert.That(halves, Is.EqualTo(whole));
    }

    [Test]
    public void ShuffleIsAReproduciblePermutation()
    {
        int[] Shuffled(ulong seed)
        {
            int[] items = Enumerable.Range(0, 100).ToArray();
            new RandomStream(seed).Shuffle<int>(items);
            return items;
        }

        int[] first = Shuffled(17);
        Assert.That(first.Order(), Is.EqualTo(Enumerable.Range(0, 100)), "a permutation");
        Assert.That(first, Is.Not.EqualTo(Enumerable.Range(0, 100)));
        Assert.That(Shuffled(17), Is.EqualTo(first), "same seed, same order");
        Assert.That(Shuffled(18), Is.Not.EqualTo(first));

        // Every one of the 3! orders of three items is about equally likely.
        var random = new RandomStream(19);
        var counts = new Dictionary<string, int>();
        for (int trial = 0; trial < 60_000; trial++)
        {
            char[] items = ['a', 'b', 'c'];
            random.Shuffle<char>(items);
            string key = new(items);
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }
        Assert.That(counts, Has.Count.EqualTo(6));
        Assert.That(counts.Values, Is.All.InRange(9_500, 10_500));
    }
}
