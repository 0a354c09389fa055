using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using NanoNet.Data;

namespace NanoNet.Tests.Data;

/// <summary>CIFAR-10 from the real archive in $NANONET_DATA (ignored when absent).</summary>
public class Cifar10RealDataTests
{
    [Test]
    public void The_official_archive_loads_50000_train_and_10000_test_images()
    {
        string archive = RealData.PathOf(Cifar10.ArchiveFileName);
        var clock = Stopwatch.StartNew();
        Cifar10Data data = Cifar10.Load(archive);
        TestContext.Out.WriteLine($"CIFAR-10 archive loaded in {clock.Elapsed.TotalSeconds:F2} s");
        var (train, test) = data;

        Assert.That(train.Features.Shape.ToArray(), Is.EqualTo(new[] { 50_000, 32, 32, 3 }));
        Assert.That(test.Features.Shape.ToArray(), Is.EqualTo(new[] { 10_000, 32, 32, 3 }));
        Assert.That(data.ClassNames, Is.EqualTo(Cifar10.ClassNames));
        foreach (Dataset split in new[] { train, test })
        {
            var counts = new int[10];
            foreach (float label in split.Labels.ToArray())
            {
                Assert.That(label, Is.InRange(0f, 9f).And.EqualTo(MathF.Round(label)));
                counts[(int)label]++;
            }
            Assert.That(counts, Has.All.EqualTo(split.Count / 10), "CIFAR-10 is balanced");
        }
        Assert.That(train.Features.Max(), Is.LessThanOrEqualTo(1f));

        // The first record of data_batch_1.bin and of test_batch.bin, read byte by byte here.
        byte[] firstTrain = FirstRecord(archive, "cifar-10-batches-bin/data_batch_1.bin");
        byte[] firstTest = FirstRecord(archive, "cifar-10-batches-bin/test_batch.bin");
        Assert.That(train.Labels[0], Is.EqualTo(firstTrain[0]));
        Assert.That(test.Labels[0], Is.EqualTo(firstTest[0]));
        Assert.That(train.Labels[0], Is.EqualTo(6f), "the official first training image is a frog");
        Assert.That(test.Labels[0], Is.EqualTo(3f), "the official first test image is a cat");
        for (int p = 0; p < 1024; p += 97)
            for (int c = 0; c < 3; c++)
                Assert.That(train.Features[3 * p + c], Is.EqualTo(firstTrain[1 + c * 1024 + p] / 255f), $"pixel {p} channel {c}");
    }

    private static byte[] FirstRecord(string archive, string entryName)
    {
        using var tar = new TarReader(new GZipStream(File.OpenRead(archive), CompressionMode.Decompress));
        while (tar.GetNextEntry() is TarEntry entry)
        {
            if (entry.Name != entryName)
                continue;
            var record = new byte[Cifar10.RecordSize];
            entry.DataStream!.ReadExactly(record);
            return record;
        }
        throw new AssertionException($"{entryName} not in {archive}");
    }
}
