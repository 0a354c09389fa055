using System.IO.Compression;
using System.Text;
using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Tests.Data;

/// <summary>
/// Issue 15, readers: each test feeds a crafted file that a reader used to accept silently, or that made it
/// allocate memory sized by an unchecked header field, and checks for a clear <see cref="InvalidDataException"/>.
/// </summary>
public class ReaderTrustTests
{
    private static byte[] IdxHeader(params int[] shape)
    {
        var bytes = new List<byte> { 0, 0, 0x08, (byte)shape.Length };
        foreach (int d in shape)
            bytes.AddRange([(byte)(d >> 24), (byte)(d >> 16), (byte)(d >> 8), (byte)d]);
        return [.. bytes];
    }

    /// <summary>Bytes allocated by <paramref name="action"/> on this thread (it must throw <typeparamref name="T"/>).</summary>
    private static (T Error, long Allocated) Measure<T>(Action action) where T : Exception
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        T error = Assert.Throws<T>(() => action())!;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        TestContext.Out.WriteLine($"{error.Message}  [allocated {allocated:N0} bytes]");
        return (error, allocated);
    }

    // ---- IDX ------------------------------------------------------------------------------------

    [Test]
    public void Idx_a_shape_whose_element_count_overflows_is_rejected()
    {
        using var files = new TestFiles();
        string path = files.Write("wrap-idx3-ubyte", IdxHeader(4194304, 2097152, 2097152)); // 2^64 elements: wraps to 0
        var error = Assert.Throws<InvalidDataException>(() => IdxReader.ReadBytes(path));
        Assert.That(error!.Message, Does.Contain(path).And.Contain("(4194304, 2097152, 2097152)"));
        Assert.Throws<ArgumentException>(() => Shapes.Product([4194304, 2097152, 2097152]));
        Assert.That(Shapes.Product([0, 2097152, 2097152, 4194304]), Is.Zero, "a zero dimension still gives no elements");
    }

    [Test]
    public void Idx_a_short_plain_file_claiming_2_G_elements_fails_before_allocating()
    {
        using var files = new TestFiles();
        string path = files.Write("huge-idx2-ubyte", [.. IdxHeader(2, 1_000_000_000), 1, 2, 3, 4]); // 16 bytes
        var (error, allocated) = Measure<InvalidDataException>(() => IdxReader.ReadBytes(path));
        Assert.That(error.Message, Does.Contain(path).And.Contain("2000000012").And.Contain("16"));
        Assert.That(allocated, Is.LessThan(1 << 20));
    }

    [Test]
    public void Idx_a_short_gzipped_file_claiming_2_G_elements_fails_without_allocating_them()
    {
        using var files = new TestFiles();
        string path = files.Write("huge-idx2-ubyte.gz", CraftedTar.Gzip([.. IdxHeader(2, 1_000_000_000), 1, 2, 3, 4]));
        var (error, allocated) = Measure<InvalidDataException>(() => IdxReader.ReadBytes(path));
        Assert.That(error.Message, Does.Contain(path).And.Contain("truncated"));
        Assert.That(allocated, Is.LessThan(16 << 20));
    }

    [Test]
    public void Idx_trailing_bytes_are_an_error_plain_and_gzipped()
    {
        using var files = new TestFiles();
        byte[] idx = [.. IdxHeader(2, 3), 1, 2, 3, 4, 5, 6, 7];
        foreach (string path in new[] { files.Write("trailing-idx2-ubyte", idx), files.Write("trailing-idx2-ubyte.gz", CraftedTar.Gzip(idx)) })
        {
            var error = Assert.Throws<InvalidDataException>(() => IdxReader.ReadBytes(path));
            TestContext.Out.WriteLine(error!.Message);
            Assert.That(error.Message, Does.Contain(path).And.Contain("trailing"));
        }
    }

    // ---- CIFAR-10 -------------------------------------------------------------------------------

    private const string Folder = "cifar-10-batches-bin/";

    private static byte[] Records(int count, int label = 1)
    {
        var data = new byte[count * Cifar10.RecordSize];
        for (int r = 0; r < count; r++)
            data[r * Cifar10.RecordSize] = (byte)label;
        return data;
    }

    private static readonly byte[] Meta = TestFiles.Utf8(string.Join("\n", Cifar10.ClassNames) + "\n\n");

    /// <summary>A complete small archive: two records per batch, in the given order of entry names (short names).</summary>
    private static List<(string, byte[])> CifarEntries(params string[] order) =>
        order.Select(n => (Folder + n, n == "batches.meta.txt" ? Meta : Records(2))).ToList();

    private static readonly string[] OfficialOrder =
        ["data_batch_4.bin", "data_batch_5.bin", "data_batch_2.bin", "batches.meta.txt", "data_batch_1.bin", "data_batch_3.bin", "test_batch.bin"];

    [Test]
    public void Cifar_a_tar_header_claiming_a_huge_entry_is_rejected_before_allocating()
    {
        using var files = new TestFiles();
        byte[] tar = CraftedTar.Tar(CifarEntries(OfficialOrder));
        CraftedTar.PatchSize(tar, Folder + "data_batch_4.bin", 600_000L * Cifar10.RecordSize); // 1.8 GB, whole records
        string archive = files.Write("cifar-10-binary.tar.gz", CraftedTar.Gzip(tar));
        var (error, allocated) = Measure<InvalidDataException>(() => Cifar10.Load(archive));
        Assert.That(error.Message, Does.Contain(archive).And.Contain("data_batch_4.bin").And.Contain("600000"));
        Assert.That(allocated, Is.LessThan(64 << 20));
    }

    [Test]
    public void Cifar_a_batch_above_the_documented_record_cap_is_rejected()
    {
        // A gzip bomb: entries of zeros compress ~1000:1; six of ~2 GB used to allocate ~12 GB.
        using var files = new TestFiles();
        var entries = CifarEntries(OfficialOrder);
        entries[0] = (Folder + "data_batch_4.bin", Records(Cifar10.MaxRecordsPerBatch + 1));
        string archive = files.WriteTarGz("cifar-10-binary.tar.gz", entries);
        var error = Assert.Throws<InvalidDataException>(() => Cifar10.Load(archive));
        TestContext.Out.WriteLine(error!.Message);
        Assert.That(error.Message, Does.Contain("data_batch_4.bin").And.Contain($"{Cifar10.MaxRecordsPerBatch + 1}").And.Contain($"{Cifar10.MaxRecordsPerBatch}"));
    }

    [Test]
    public void Cifar_duplicate_batch_entries_are_an_error()
    {
        using var files = new TestFiles();
        var entries = CifarEntries([.. OfficialOrder, "data_batch_2.bin"]);
        string archive = files.WriteTarGz("cifar-10-binary.tar.gz", entries);
        var error = Assert.Throws<InvalidDataException>(() => Cifar10.Load(archive));
        TestContext.Out.WriteLine(error!.Message);
        Assert.That(error.Message, Does.Contain(archive).And.Contain("data_batch_2.bin").And.Contain("twice"));
    }

    [Test]
    public void Cifar_a_subset_stops_reading_once_it_has_what_it_needs()
    {
        // batch 1, the test batch and the class names come first; the rest of the archive is cut off.
        using var files = new TestFiles();
        byte[] tar = CraftedTar.Tar(CifarEntries("data_batch_1.bin", "test_batch.bin", "batches.meta.txt",
            "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"));
        const int batchEntry = 512 + 6656, metaEntry = 512 + 512; // header + data padded to 512
        int cut = 2 * batchEntry + metaEntry + 512 + 100;            // 100 bytes into batch 2's data
        string archive = files.Write("cifar-10-binary.tar.gz", CraftedTar.Gzip(tar[..cut]));
        var (train, test) = Cifar10.Load(archive, trainLimit: 2, testLimit: 1);
        Assert.That(train.Count, Is.EqualTo(2));
        Assert.That(test.Count, Is.EqualTo(1));
        Assert.Throws<InvalidDataException>(() => Cifar10.Load(archive, trainLimit: 3), "batch 2 is needed and cut");
    }

    [Test]
    public void Cifar_a_subset_keeps_only_the_records_it_can_use()
    {
        using var files = new TestFiles();
        string archive = files.WriteTarGz("cifar-10-binary.tar.gz", CifarEntries(OfficialOrder));
        Assert.That(Cifar10.ArchiveBytesKept(archive, trainLimit: 1, testLimit: 1), Is.EqualTo(2 * Cifar10.RecordSize));
        Assert.That(Cifar10.ArchiveBytesKept(archive, trainLimit: null, testLimit: null), Is.EqualTo(12 * Cifar10.RecordSize));
        var (train, _) = Cifar10.Load(archive, trainLimit: 5);
        Assert.That(train.Count, Is.EqualTo(5));
    }

    [Test]
    public void Cifar_a_class_names_file_cut_mid_line_is_an_error()
    {
        using var files = new TestFiles();
        var entries = CifarEntries(OfficialOrder);
        byte[] cut = TestFiles.Utf8(string.Join("\n", Cifar10.ClassNames)[..^2]); // "...\nship\ntru"
        entries[3] = (Folder + "batches.meta.txt", cut);
        string archive = files.WriteTarGz("a/cifar-10-binary.tar.gz", entries);
        foreach (var (name, data) in entries)
            files.Write("f/" + name, data);
        foreach (string path in new[] { archive, Path.Combine(files.Root, "f") })
        {
            var error = Assert.Throws<InvalidDataException>(() => Cifar10.Load(path));
            TestContext.Out.WriteLine(error!.Message);
            Assert.That(error.Message, Does.Contain("batches.meta.txt").And.Contain("'tru'").And.Contain("truncated"));
        }
    }

    // ---- IMDB -----------------------------------------------------------------------------------

    private static List<(string, byte[])> ImdbEntries(params (string Name, string Text)[] extra) =>
    [
        ("aclImdb/train/pos/0_9.txt", TestFiles.Utf8("good")),
        ("aclImdb/train/neg/0_2.txt", TestFiles.Utf8("bad")),
        ("aclImdb/test/pos/0_8.txt", TestFiles.Utf8("great")),
        ("aclImdb/test/neg/0_1.txt", TestFiles.Utf8("awful")),
        .. extra.Select(e => (e.Name, TestFiles.Utf8(e.Text))),
    ];

    [Test]
    public void Imdb_a_tar_header_claiming_a_huge_review_is_a_format_error_before_allocating()
    {
        using var files = new TestFiles();
        byte[] tar = CraftedTar.Tar(ImdbEntries());
        CraftedTar.PatchSize(tar, "aclImdb/train/neg/0_2.txt", 1_800_000_000);
        string archive = files.Write("aclImdb_v1.tar.gz", CraftedTar.Gzip(tar));
        var (error, allocated) = Measure<InvalidDataException>(() => Imdb.ReadTexts(archive));
        Assert.That(error.Message, Does.Contain(archive).And.Contain("train/neg/0_2.txt").And.Contain("1800000000"));
        Assert.That(allocated, Is.LessThan(16 << 20));
    }

    [Test]
    public void Imdb_a_second_tree_is_an_error_not_extra_reviews()
    {
        using var files = new TestFiles();
        foreach (string stray in new[] { "aclImdb/test/train/pos/5_9.txt", "copy/aclImdb/train/pos/7_9.txt" })
        {
            string archive = files.WriteTarGz($"{stray.Length}/aclImdb_v1.tar.gz", ImdbEntries((stray, "leak")));
            var error = Assert.Throws<InvalidDataException>(() => Imdb.ReadTexts(archive));
            TestContext.Out.WriteLine(error!.Message);
            Assert.That(error.Message, Does.Contain(archive).And.Contain(stray).And.Contain("aclImdb/"));
        }
    }

    [Test]
    public void Imdb_a_duplicate_review_id_is_an_error_in_the_archive_and_the_folder()
    {
        using var files = new TestFiles();
        var entries = ImdbEntries(("aclImdb/train/pos/0_7.txt", "again"));
        string archive = files.WriteTarGz("a/aclImdb_v1.tar.gz", entries);
        foreach (var (name, data) in entries)
            files.Write("f/" + name, data);
        foreach (string path in new[] { archive, Path.Combine(files.Root, "f", "aclImdb") })
        {
            var error = Assert.Throws<InvalidDataException>(() => Imdb.ReadTexts(path));
            TestContext.Out.WriteLine(error!.Message);
            Assert.That(error.Message, Does.Contain("0_9.txt").And.Contain("0_7.txt").And.Contain("id 0"));
        }
    }

    // ---- CSV ------------------------------------------------------------------------------------

    [Test]
    public void Csv_a_header_read_as_data_is_detected()
    {
        var error = Assert.Throws<InvalidDataException>(() =>
            LabelledTextCsv.Read(new StringReader("label,text\n2,b\n10,c\n1,a\n"), "news.csv"));
        TestContext.Out.WriteLine(error!.Message);
        Assert.That(error.Message, Does.Contain("news.csv").And.Contain("line 1").And.Contain("'label'").And.Contain("hasHeader"));
        var read = LabelledTextCsv.Read(new StringReader("label,text\n2,b\n10,c\n1,a\n"), "news.csv", hasHeader: true);
        Assert.That(read.ClassNames, Is.EqualTo(new[] { "1", "2", "10" }));
        Assert.That(LabelledTextCsv.Read(new StringReader("1,a\nspam,b\n2,c\n"), "mixed.csv").Count, Is.EqualTo(3),
            "a non-integer label after the first row is a string label, not a header");
    }

    /// <summary>A reader of many characters that counts how many were taken.</summary>
    private sealed class CountingReader(string start, int length) : TextReader
    {
        public long Taken { get; private set; }

        public override int Read(char[] buffer, int index, int count)
        {
            int n = (int)Math.Min(count, length - Taken);
            for (int i = 0; i < n; i++)
                buffer[index + i] = Taken + i < start.Length ? start[(int)(Taken + i)] : 'x';
            Taken += n;
            return n;
        }
    }

    [Test]
    public void Csv_an_unterminated_quote_fails_at_the_field_length_cap_without_reading_on()
    {
        var reader = new CountingReader("1,\"never closed ", 64 << 20);
        var error = Assert.Throws<InvalidDataException>(() => LabelledTextCsv.Read(reader, "open.csv"));
        TestContext.Out.WriteLine(error!.Message);
        Assert.That(error.Message, Does.Contain("open.csv").And.Contain("line 1").And.Contain($"{LabelledTextCsv.MaxFieldLength}"));
        Assert.That(reader.Taken, Is.LessThan(LabelledTextCsv.MaxFieldLength + (1 << 17)));
    }

    // ---- bad labels found by Fit ----------------------------------------------------------------

    [Test]
    public void Fit_names_the_data_set_row_of_a_bad_label_not_its_row_in_the_batch()
    {
        var x = Tensor.Zeros(10, 2);
        var y = Tensor.Zeros(10);
        y[7] = 5;
        var model = new Sequential([2], new Dense(3, ActivationFunction.Softmax));
        model.Compile(new Sgd(0.1f), new SparseCategoricalCrossEntropy(), seed: 0);
        var error = Assert.Throws<ArgumentException>(() => model.Fit(new Dataset(x, y), batchSize: 4, verbose: 0));
        TestContext.Out.WriteLine(error!.Message);
        Assert.That(error.Message, Does.Contain("row 7").And.Contain("label 5").And.Contain("[0, 3)").And.Not.Contain("of the batch"));
    }

    [Test]
    public void Fit_names_the_file_and_record_of_a_bad_label_read_from_IDX()
    {
        using var files = new TestFiles();
        files.Write("train-images-idx3-ubyte", [.. IdxHeader(4, 2, 2), .. new byte[16]]);
        string labels = files.Write("train-labels-idx1-ubyte", [.. IdxHeader(4), 1, 0, 12, 3]);
        Dataset train = FashionMnist.LoadSplit(files.Root, "train");
        var model = new Sequential([2, 2], new Flatten(), new Dense(10, ActivationFunction.Softmax));
        model.Compile(new Sgd(0.1f), new SparseCategoricalCrossEntropy(), seed: 0);
        var error = Assert.Throws<ArgumentException>(() => model.Fit(train, batchSize: 2, verbose: 0));
        TestContext.Out.WriteLine(error!.Message);
        Assert.That(error.Message, Does.Contain("row 2").And.Contain(labels).And.Contain("record 2").And.Contain("label 12"));
    }
}
