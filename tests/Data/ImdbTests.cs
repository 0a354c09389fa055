using System.Diagnostics;
using NanoNet.Data;

namespace NanoNet.Tests.Data;

public class ImdbTests
{
    /// <summary>A tiny IMDB in the official layout, entries deliberately out of order, with the files the reader must ignore.</summary>
    private static List<(string, byte[])> Entries() =>
    [
        ("aclImdb/imdb.vocab", TestFiles.Utf8("the\nand\n")),
        ("aclImdb/README", TestFiles.Utf8("readme")),
        ("aclImdb/train/pos/10_9.txt", TestFiles.Utf8("Loved it!<br /><br />Great film.")),
        ("aclImdb/train/neg/3_1.txt", TestFiles.Utf8("Awful. Just awful.")),
        ("aclImdb/train/pos/2_8.txt", TestFiles.Utf8("great great acting")),
        ("aclImdb/train/neg/11_2.txt", TestFiles.Utf8("\uFEFFBoring film, bad acting")),
        ("aclImdb/train/unsup/0_0.txt", TestFiles.Utf8("unlabelled")),
        ("aclImdb/train/urls_pos.txt", TestFiles.Utf8("http://example")),
        ("aclImdb/train/labeledBow.feat", TestFiles.Utf8("0:1")),
        ("aclImdb/test/neg/0_2.txt", TestFiles.Utf8("Bad. Café scenes only.")),
        ("aclImdb/test/pos/0_10.txt", TestFiles.Utf8("A great, great film")),
    ];

    private static void CheckTexts(LabelledTexts train, LabelledTexts test)
    {
        Assert.That(train.Texts, Is.EqualTo(new[]
        {
            "Awful. Just awful.", "Boring film, bad acting", "great great acting", "Loved it!<br /><br />Great film.",
        }), "negatives then positives, each by review id; BOM dropped");
        Assert.That(train.Labels, Is.EqualTo(new[] { 0, 0, 1, 1 }));
        Assert.That(train.ClassNames, Is.EqualTo(new[] { "neg", "pos" }));
        Assert.That(test.Texts, Is.EqualTo(new[] { "Bad. Café scenes only.", "A great, great film" }));
        Assert.That(test.Labels, Is.EqualTo(new[] { 0, 1 }));
    }

    [Test]
    public void Reads_the_labelled_reviews_from_the_archive_in_a_fixed_order()
    {
        using var files = new TestFiles();
        string archive = files.WriteTarGz("aclImdb_v1.tar.gz", Entries());
        var (train, test) = Imdb.ReadTexts(archive);
        CheckTexts(train, test);
        (train, test) = Imdb.ReadTexts(files.Root);
        CheckTexts(train, test);
    }

    [Test]
    public void Reads_the_extracted_folder_or_its_parent()
    {
        using var files = new TestFiles();
        foreach (var (name, data) in Entries())
            files.Write(name, data);
        var (train, test) = Imdb.ReadTexts(Path.Combine(files.Root, "aclImdb"));
        CheckTexts(train, test);
        (train, test) = Imdb.ReadTexts(files.Root);
        CheckTexts(train, test);
    }

    [Test]
    public void Load_builds_the_vocabulary_on_train_and_pads_at_the_front()
    {
        using var files = new TestFiles();
        string archive = files.WriteTarGz("aclImdb_v1.tar.gz", Entries());
        var (train, test, vocabulary) = Imdb.Load(archive, vocabularySize: 6, sequenceLength: 4);
        // Train words: great 3, film 2, acting 2, awful 2, ... -> ids: great 2, awful 3, film 4, acting 5 (ties by first occurrence).
        Assert.That(vocabulary.Words, Is.EqualTo(new[] { "<pad>", "<oov>", "great", "awful", "film", "acting" }));
        Assert.That(train.Features.Shape.ToArray(), Is.EqualTo(new[] { 4, 4 }));
        Assert.That(train.Features.SliceRows(0, 1).ToArray(), Is.EqualTo(new float[] { 0, 3, 1, 3 }), "awful just awful");
        Assert.That(train.Features.SliceRows(3, 1).ToArray(), Is.EqualTo(new float[] { 1, 1, 2, 4 }), "(loved) it great film: truncated at the front");
        Assert.That(test.Features.SliceRows(1, 1).ToArray(), Is.EqualTo(new float[] { 1, 2, 2, 4 }), "a great great film");
        Assert.That(test.Labels.ToArray(), Is.EqualTo(new float[] { 0, 1 }));
    }

    [Test]
    public void A_bad_file_name_or_a_missing_split_is_reported()
    {
        using var files = new TestFiles();
        var entries = Entries();
        entries.Add(("aclImdb/train/pos/review.txt", TestFiles.Utf8("x")));
        string archive = files.WriteTarGz("bad/aclImdb_v1.tar.gz", entries);
        var error = Assert.Throws<InvalidDataException>(() => Imdb.ReadTexts(archive));
        Assert.That(error!.Message, Does.Contain("aclImdb/train/pos/review.txt").And.Contain("<id>_<rating>.txt"));

        string noTest = files.WriteTarGz("notest/aclImdb_v1.tar.gz", Entries().Where(e => !e.Item1.Contains("/test/")));
        error = Assert.Throws<InvalidDataException>(() => Imdb.ReadTexts(noTest));
        Assert.That(error!.Message, Does.Contain("aclImdb/test"));

        var notFound = Assert.Throws<FileNotFoundException>(() => Imdb.ReadTexts(Path.Combine(files.Root, "nowhere")));
        Assert.That(notFound!.Message, Does.Contain(Imdb.DownloadUrl).And.Contain("--data"));
    }

    [Test]
    public void A_truncated_archive_names_the_archive()
    {
        using var files = new TestFiles();
        byte[] full = TestFiles.TarGz(Entries());
        string archive = files.Write("aclImdb_v1.tar.gz", full[..(full.Length / 2)]);
        var error = Assert.Throws<InvalidDataException>(() => Imdb.ReadTexts(archive));
        TestContext.Out.WriteLine(error!.Message);
        Assert.That(error.Message, Does.Contain(archive));
    }

    [Test]
    public void The_official_archive_has_25000_balanced_reviews_per_split()
    {
        string archive = RealData.PathOf(Imdb.ArchiveFileName);
        var clock = Stopwatch.StartNew();
        var (train, test) = Imdb.ReadTexts(archive);
        TestContext.Out.WriteLine($"IMDB archive read in {clock.Elapsed.TotalSeconds:F2} s");
        foreach (LabelledTexts split in new[] { train, test })
        {
            Assert.That(split.Count, Is.EqualTo(25_000));
            Assert.That(split.Labels.Count(l => l == 1), Is.EqualTo(12_500));
            Assert.That(split.Texts, Has.None.Empty);
        }
        Assert.That(train.Texts.Any(t => t.Contains("<br />")), "raw reviews keep their line breaks until tokenised");

        clock.Restart();
        Vocabulary vocabulary = Vocabulary.Build(train.Texts);
        Dataset trainSet = train.ToDataset(vocabulary, 200);
        Dataset testSet = test.ToDataset(vocabulary, 200);
        TestContext.Out.WriteLine($"IMDB vocabulary and encoding in {clock.Elapsed.TotalSeconds:F2} s");
        Assert.That(vocabulary.Size, Is.EqualTo(20_000));
        Assert.That(vocabulary.Words.Take(4), Is.EqualTo(new[] { "<pad>", "<oov>", "the", "and" }));
        Assert.That(vocabulary.Contains("br"), Is.False, "<br /> tags are removed before counting");
        Assert.That(trainSet.Features.Shape.ToArray(), Is.EqualTo(new[] { 25_000, 200 }));
        Assert.That(testSet.Features.Max(), Is.LessThan(20_000f));
    }
}
