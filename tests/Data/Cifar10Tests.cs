using NanoNet.Data;

namespace NanoNet.Tests.Data;

[NonParallelizable] // one test changes NANONET_DATA
public class Cifar10Tests
{
    private const int Plane = 1024;

    /// <summary>A record whose pixel bytes encode the plane and position, so the CHW→HWC interleave can be checked.</summary>
    private static byte[] Record(int label, int seed)
    {
        var record = new byte[Cifar10.RecordSize];
        record[0] = (byte)label;
        for (int p = 0; p < Plane; p++)
        {
            record[1 + p] = (byte)(p + seed);                 // red
            record[1 + Plane + p] = (byte)(3 * p + seed);     // green
            record[1 + 2 * Plane + p] = (byte)(255 - p - seed); // blue
        }
        return record;
    }

    /// <summary>Batch n (1..5) holds two records with labels n−1 and n; the test batch holds three with labels 9, 8, 7.</summary>
    private static byte[] Batch(int number) => number == 0
        ? [.. Record(9, 100), .. Record(8, 101), .. Record(7, 102)]
        : [.. Record(number - 1, 10 * number), .. Record(number, 10 * number + 1)];

    private static readonly string[] MetaNames = ["a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9"];

    /// <summary>Entries in the order the official archive has them (not batch order).</summary>
    private static List<(string, byte[])> OfficialOrderEntries(Func<int, byte[]>? batch = null)
    {
        batch ??= Batch;
        const string f = "cifar-10-batches-bin/";
        return
        [
            (f + "data_batch_4.bin", batch(4)), (f + "data_batch_5.bin", batch(5)), (f + "data_batch_2.bin", batch(2)),
            (f + "batches.meta.txt", TestFiles.Utf8(string.Join("\n", MetaNames) + "\n\n")),
            (f + "data_batch_1.bin", batch(1)), (f + "data_batch_3.bin", batch(3)), (f + "test_batch.bin", batch(0)),
        ];
    }

    private static void WriteFolder(TestFiles files, string folder)
    {
        foreach (var (name, data) in OfficialOrderEntries())
            files.Write(Path.Combine(folder, name), data);
    }

    private static void CheckSynthetic(Cifar10Data data)
    {
        var (train, test) = data;
        Assert.That(train.Features.Shape.ToArray(), Is.EqualTo(new[] { 10, 32, 32, 3 }));
        Assert.That(train.Labels.ToArray(), Is.EqualTo(new float[] { 0, 1, 1, 2, 2, 3, 3, 4, 4, 5 }), "batches in order 1..5");
        Assert.That(test.Features.Shape.ToArray(), Is.EqualTo(new[] { 3, 32, 32, 3 }));
        Assert.That(test.Labels.ToArray(), Is.EqualTo(new float[] { 9, 8, 7 }));
        Assert.That(data.ClassNames, Is.EqualTo(MetaNames));
        // Train row 2 is batch 2's first record (seed 20); check a few pixels of the interleave.
        Span<float> image = train.Features.SliceRows(2, 1).Span;
        foreach (int p in new[] { 0, 1, 33, 1023 })
        {
            Assert.That(image[3 * p], Is.EqualTo((byte)(p + 20) / 255f), $"red of pixel {p}");
            Assert.That(image[3 * p + 1], Is.EqualTo((byte)(3 * p + 20) / 255f), $"green of pixel {p}");
            Assert.That(image[3 * p + 2], Is.EqualTo((byte)(255 - p - 20) / 255f), $"blue of pixel {p}");
        }
    }

    [Test]
    public void Loads_both_splits_from_a_tar_gz_in_one_pass_in_batch_order()
    {
        using var files = new TestFiles();
        string archive = files.WriteTarGz("cifar-10-binary.tar.gz", OfficialOrderEntries());
        CheckSynthetic(Cifar10.Load(archive));
    }

    [Test]
    public void Loads_from_the_batches_folder_its_parent_or_a_folder_holding_the_archive()
    {
        using var files = new TestFiles();
        WriteFolder(files, "extracted");
        CheckSynthetic(Cifar10.Load(Path.Combine(files.Root, "extracted", "cifar-10-batches-bin")));
        CheckSynthetic(Cifar10.Load(Path.Combine(files.Root, "extracted")));
        files.WriteTarGz("archived/cifar-10-binary.tar.gz", OfficialOrderEntries());
        CheckSynthetic(Cifar10.Load(Path.Combine(files.Root, "archived")));
    }

    [Test]
    public void Limits_keep_the_first_records()
    {
        using var files = new TestFiles();
        WriteFolder(files, "");
        string archive = files.WriteTarGz("a/cifar-10-binary.tar.gz", OfficialOrderEntries());
        foreach (string path in new[] { files.Root, archive })
        {
            var (train, test) = Cifar10.Load(path, trainLimit: 3, testLimit: 1);
            Assert.That(train.Labels.ToArray(), Is.EqualTo(new float[] { 0, 1, 1 }), path);
            Assert.That(test.Labels.ToArray(), Is.EqualTo(new float[] { 9 }), path);
        }
    }

    [Test]
    public void A_truncated_batch_file_names_the_file_and_the_record()
    {
        using var files = new TestFiles();
        WriteFolder(files, "");
        byte[] cut = Batch(3)[..(Cifar10.RecordSize + 100)];
        files.Write("cifar-10-batches-bin/data_batch_3.bin", cut);
        var error = Assert.Throws<InvalidDataException>(() => Cifar10.Load(files.Root));
        TestContext.Out.WriteLine(error!.Message);
        Assert.That(error!.Message, Does.Contain("data_batch_3.bin").And.Contain("record 1 ").And.Contain("truncated"));
    }

    [Test]
    public void A_truncated_entry_inside_the_archive_names_the_entry_and_the_record()
    {
        using var files = new TestFiles();
        // A well-formed gzip of a tar stream that stops inside data_batch_4.bin's record 1: the entry
        // header promises more bytes than follow.
        byte[] tar = Decompress(TestFiles.TarGz(OfficialOrderEntries()));
        int dataStart = tar.AsSpan().IndexOf(Batch(4).AsSpan(0, 64));
        byte[] cut = tar[..(dataStart + Cifar10.RecordSize + 7)];
        string archive = files.Write("cifar-10-binary.tar.gz", Compress(cut));
        var error = Assert.Throws<InvalidDataException>(() => Cifar10.Load(archive));
        TestContext.Out.WriteLine(error!.Message);
        Assert.That(error!.Message, Does.Contain("cifar-10-binary.tar.gz").And.Contain("data_batch_4.bin").And.Contain("record 1 "));
    }

    [Test]
    public void A_cut_compressed_archive_gives_InvalidDataException_naming_the_archive()
    {
        using var files = new TestFiles();
        byte[] full = TestFiles.TarGz(OfficialOrderEntries());
        string archive = files.Write("cifar-10-binary.tar.gz", full[..(full.Length * 2 / 3)]);
        var error = Assert.Throws<InvalidDataException>(() => Cifar10.Load(archive));
        TestContext.Out.WriteLine(error!.Message);
        Assert.That(error!.Message, Does.Contain(archive));
    }

    [Test]
    public void A_label_outside_0_to_9_names_the_file_and_the_record()
    {
        using var files = new TestFiles();
        WriteFolder(files, "");
        files.Write("cifar-10-batches-bin/test_batch.bin", [.. Record(1, 0), .. Record(1, 0), .. Record(200, 0)]);
        var error = Assert.Throws<InvalidDataException>(() => Cifar10.Load(files.Root));
        TestContext.Out.WriteLine(error!.Message);
        Assert.That(error!.Message, Does.Contain("test_batch.bin").And.Contain("record 2 ").And.Contain("label 200"));
    }

    [Test]
    public void A_missing_batch_file_is_named()
    {
        using var files = new TestFiles();
        WriteFolder(files, "");
        File.Delete(Path.Combine(files.Root, "cifar-10-batches-bin", "data_batch_5.bin"));
        var error = Assert.Throws<FileNotFoundException>(() => Cifar10.Load(files.Root));
        TestContext.Out.WriteLine(error!.Message);
        Assert.That(error!.Message, Does.Contain("data_batch_5.bin"));

        var entries = OfficialOrderEntries().Where(e => !e.Item1.EndsWith("test_batch.bin")).ToList();
        string archive = files.WriteTarGz("x/cifar-10-binary.tar.gz", entries);
        var archiveError = Assert.Throws<InvalidDataException>(() => Cifar10.Load(archive));
        TestContext.Out.WriteLine(archiveError!.Message);
        Assert.That(archiveError!.Message, Does.Contain("test_batch.bin"));
    }

    [Test]
    public void LoadBatchFile_reads_one_file()
    {
        using var files = new TestFiles();
        string path = files.Write("data_batch_2.bin", Batch(2));
        Dataset batch = Cifar10.LoadBatchFile(path);
        Assert.That(batch.Labels.ToArray(), Is.EqualTo(new float[] { 1, 2 }));
    }

    [Test]
    public void Locate_looks_in_the_path_then_NANONET_DATA_and_explains_when_not_found()
    {
        using var files = new TestFiles();
        string? saved = Environment.GetEnvironmentVariable(DataLocator.EnvironmentVariable);
        try
        {
            string empty = Directory.CreateDirectory(Path.Combine(files.Root, "empty")).FullName;
            string withData = Path.Combine(files.Root, "data");
            string archive = files.WriteTarGz("data/cifar-10-binary.tar.gz", OfficialOrderEntries());

            Environment.SetEnvironmentVariable(DataLocator.EnvironmentVariable, withData);
            Assert.That(Cifar10.Locate(empty), Is.EqualTo(archive), "falls back to NANONET_DATA");
            Assert.That(Cifar10.Locate(null), Is.EqualTo(archive));

            WriteFolder(files, "given");
            Assert.That(Cifar10.Locate(Path.Combine(files.Root, "given")),
                Is.EqualTo(Path.Combine(files.Root, "given", "cifar-10-batches-bin")), "the given path comes first");

            Environment.SetEnvironmentVariable(DataLocator.EnvironmentVariable, empty);
            var error = Assert.Throws<FileNotFoundException>(() => Cifar10.Locate(Path.Combine(files.Root, "nowhere")));
            TestContext.Out.WriteLine(error!.Message);
            Assert.That(error!.Message, Does.Contain(Path.Combine(files.Root, "nowhere")).And.Contain(empty)
                .And.Contain("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz").And.Contain("--data").And.Contain("NANONET_DATA"));

            Environment.SetEnvironmentVariable(DataLocator.EnvironmentVariable, null);
            error = Assert.Throws<FileNotFoundException>(() => Cifar10.Locate(empty));
            TestContext.Out.WriteLine(error!.Message);
            Assert.That(error!.Message, Does.Contain("NANONET_DATA (not set)"));
        }
        finally
        {
            Environment.SetEnvironmentVariable(DataLocator.EnvironmentVariable, saved);
        }
    }

    private static byte[] Decompress(byte[] gz)
    {
        using var input = new System.IO.Compression.GZipStream(new MemoryStream(gz), System.IO.Compression.CompressionMode.Decompress);
        var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }

    private static byte[] Compress(byte[] data)
    {
        var output = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(output, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
            gzip.Write(data);
        return output.ToArray();
    }
}
