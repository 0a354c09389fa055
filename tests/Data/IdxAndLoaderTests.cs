using System.IO.Compression;
using NanoNet.Data;

namespace NanoNet.Tests;

public class IdxAndLoaderTests
{
    private static byte[] IdxBytes(byte[] data, params int[] shape)
    {
        var stream = new MemoryStream();
        stream.Write([0, 0, 0x08, (byte)shape.Length]);
        foreach (int d in shape)
            stream.Write([(byte)(d >> 24), (byte)(d >> 16), (byte)(d >> 8), (byte)d]);
        stream.Write(data);
        return stream.ToArray();
    }

    [Test]
    public void ReadsPlainAndGzippedIdx()
    {
        string dir = Directory.CreateTempSubdirectory("nanonet").FullName;
        byte[] idx = IdxBytes([1, 2, 3, 4, 5, 6], 2, 3);
        File.WriteAllBytes(Path.Combine(dir, "plain"), idx);
        using (var gz = new GZipStream(File.Create(Path.Combine(dir, "packed.gz")), CompressionLevel.Fastest))
            gz.Write(idx);
        foreach (string name in new[] { "plain", "packed.gz" })
        {
            var (shape, data) = IdxReader.ReadBytes(Path.Combine(dir, name));
            Assert.That(shape, Is.EqualTo(new[] { 2, 3 }));
            Assert.That(data, Is.EqualTo(new byte[] { 1, 2, 3, 4, 5, 6 }));
        }
    }

    [Test]
    public void TruncatedIdxNamesTheFile()
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("nanonet").FullName, "short-idx");
        File.WriteAllBytes(path, IdxBytes([1, 2, 3], 2, 3));
        var ex = Assert.Throws<InvalidDataException>(() => IdxReader.ReadBytes(path));
        Assert.That(ex!.Message, Does.Contain(path).And.Contain("truncated").And.Contain("3 of 6"));
    }

    [Test]
    public void MissingFashionMnistSaysHowToGetIt()
    {
        var ex = Assert.Throws<FileNotFoundException>(() => FashionMnist.Load("/nonexistent"));
        Assert.That(ex!.Message, Does.Contain("apt-get install dataset-fashion-mnist"));
    }

    [Test]
    public void LoaderVisitsEveryExampleOncePerEpochAndReshuffles()
    {
        var x = Tensor.Zeros(23, 1);
        for (int i = 0; i < 23; i++) x[i] = i;
        var loader = new MiniBatchLoader(new Dataset(x, Tensor.Zeros(23)), 5, shuffle: true, seed: 3);
        List<float> Epoch() => loader.NextEpoch().SelectMany(b => b.Features.ToArray()).ToList();
        List<float> first = Epoch(), second = Epoch();
        Assert.That(first.Order(), Is.EqualTo(Enumerable.Range(0, 23).Select(i => (float)i)));
        Assert.That(second.Order(), Is.EqualTo(Enumerable.Range(0, 23).Select(i => (float)i)));
        Assert.That(second, Is.Not.EqualTo(first), "each epoch must be reshuffled");

        var again = new MiniBatchLoader(new Dataset(x, Tensor.Zeros(23)), 5, shuffle: true, seed: 3);
        Assert.That(again.NextEpoch().SelectMany(b => b.Features.ToArray()), Is.EqualTo(first), "same seed, same order");
    }

    [Test]
    public void LoaderOrderDependsOnlyOnSeedAndEpochSoARunCanResume()
    {
        var x = Tensor.Zeros(23, 1);
        for (int i = 0; i < 23; i++) x[i] = i;
        var data = new Dataset(x, Tensor.Zeros(23));
        static List<float> Epoch(MiniBatchLoader loader) => loader.NextEpoch().SelectMany(b => b.Features.ToArray()).ToList();

        var run = new MiniBatchLoader(data, 5, shuffle: true, seed: 4);
        Assert.That(run.Epoch, Is.Zero);
        List<float>[] epochs = [Epoch(run), Epoch(run), Epoch(run), Epoch(run)];
        Assert.That(run.Epoch, Is.EqualTo(4));
        Assert.That(run.Seed, Is.EqualTo(4));

        // Resume after two epochs (as from a checkpoint holding Seed and Epoch): epochs 3 and 4 come out again.
        var resumed = new MiniBatchLoader(data, 5, shuffle: true, seed: run.Seed) { Epoch = 2 };
        Assert.That(Epoch(resumed), Is.EqualTo(epochs[2]));
        Assert.That(Epoch(resumed), Is.EqualTo(epochs[3]));

        // The order of epoch e is the identity shuffled by stream e of the seed, whatever the batch size.
        int[] expected = Enumerable.Range(0, 23).ToArray();
        new RandomStream(4, RandomStreamIds.EpochShuffle(3)).Shuffle<int>(expected);
        Assert.That(epochs[2], Is.EqualTo(expected.Select(i => (float)i)));
        var otherBatchSize = new MiniBatchLoader(data, 7, shuffle: true, seed: 4) { Epoch = 2 };
        Assert.That(Epoch(otherBatchSize), Is.EqualTo(epochs[2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => run.Epoch = -1);
    }

    [Test]
    public void RealFashionMnistLoads()
    {
        if (!File.Exists(Path.Combine(FashionMnist.DebianDirectory, "t10k-images-idx3-ubyte.gz")))
            Assert.Ignore("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist).");
        Dataset test = FashionMnist.LoadSplit(FashionMnist.DebianDirectory, "t10k");
        Assert.That(test.Features.Shape.ToArray(), Is.EqualTo(new[] { 10_000, 28, 28 }));
        Assert.That(test.Features.Max(), Is.EqualTo(1f));
        float[] labels = test.Labels.ToArray();
        Assert.That(labels.Distinct().Count(), Is.EqualTo(10));
        Assert.That(labels.Count(l => l == 0), Is.EqualTo(1000), "the test split is balanced");
    }
}
