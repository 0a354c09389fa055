using NanoNet.Data;

namespace NanoNet.Tests.Data;

public class CharCorpusTests
{
    [Test]
    public void The_vocabulary_is_the_sorted_distinct_characters()
    {
        var corpus = new CharCorpus("hello, world\n");
        Assert.That(corpus.Characters, Is.EqualTo("\n ,dehlorw".ToCharArray()));
        Assert.That(corpus.Ids[..5], Is.EqualTo(new[] { 5, 4, 6, 6, 7 }));
        Assert.That(corpus.Decode(corpus.Ids), Is.EqualTo(corpus.Text));
        Assert.That(corpus.Encode("world"), Is.EqualTo(new[] { 9, 7, 8, 6, 3 }));
        var error = Assert.Throws<ArgumentException>(() => corpus.Encode("wx"));
        Assert.That(error!.Message, Does.Contain("'x'").And.Contain("position 1"));
    }

    [Test]
    public void Split_keeps_the_head_for_training_and_the_tail_for_validation()
    {
        var corpus = new CharCorpus("abcdefghij");
        var (train, validation) = corpus.Split(0.2);
        Assert.That(corpus.Decode(train), Is.EqualTo("abcdefgh"));
        Assert.That(corpus.Decode(validation), Is.EqualTo("ij"));
    }

    [Test]
    public void Windows_pair_each_input_with_the_next_character()
    {
        int[] ids = Enumerable.Range(0, 10).ToArray();
        Dataset windows = NextTokenSequences.Windows(ids, length: 3);
        Assert.That(windows.Features.ToArray(), Is.EqualTo(new float[] { 0, 1, 2, 3, 4, 5, 6, 7, 8 }));
        Assert.That(windows.Labels.ToArray(), Is.EqualTo(new float[] { 1, 2, 3, 4, 5, 6, 7, 8, 9 }));
        Dataset overlapping = NextTokenSequences.Windows(ids, length: 4, stride: 2);
        Assert.That(overlapping.Count, Is.EqualTo(3));
        Assert.That(overlapping.Features.SliceRows(2, 1).ToArray(), Is.EqualTo(new float[] { 4, 5, 6, 7 }));
        Assert.That(overlapping.Labels.SliceRows(2, 1).ToArray(), Is.EqualTo(new float[] { 5, 6, 7, 8 }));
        Assert.Throws<ArgumentException>(() => NextTokenSequences.Windows(ids, length: 10));
    }

    [Test]
    public void Continuous_batches_continue_each_lane_from_one_batch_to_the_next()
    {
        int[] ids = Enumerable.Range(0, 14).ToArray(); // 13 usable -> 2 lanes of 6 -> 3 windows of 2 each
        Dataset data = NextTokenSequences.ContinuousBatches(ids, batchSize: 2, length: 2);
        Assert.That(data.Features.Shape.ToArray(), Is.EqualTo(new[] { 6, 2 }));
        Assert.That(data.Features.ToArray(), Is.EqualTo(new float[] { 0, 1, 6, 7, /**/ 2, 3, 8, 9, /**/ 4, 5, 10, 11 }));
        Assert.That(data.Labels.ToArray(), Is.EqualTo(new float[] { 1, 2, 7, 8, /**/ 3, 4, 9, 10, /**/ 5, 6, 11, 12 }));
    }

    [Test]
    public void Tiny_Shakespeare_has_1115394_characters_and_65_distinct()
    {
        string path = RealData.PathOf(TinyShakespeare.FileName);
        CharCorpus corpus = TinyShakespeare.Load(path);
        Assert.That(corpus.Length, Is.EqualTo(1_115_394));
        Assert.That(corpus.VocabularySize, Is.EqualTo(65));
        Assert.That(corpus.Text, Does.StartWith("First Citizen:"));
        Assert.That(TinyShakespeare.Load(Path.GetDirectoryName(path)!).Length, Is.EqualTo(1_115_394));
        var (train, validation) = corpus.Split();
        Assert.That(train.Length + validation.Length, Is.EqualTo(1_115_394));
        Dataset sequences = NextTokenSequences.Windows(train, 100);
        Assert.That(sequences.Features.Shape.ToArray(), Is.EqualTo(new[] { (train.Length - 1 - 100) / 100 + 1, 100 }));
    }
}
