using NanoNet.Data;

namespace NanoNet.Tests.Data;

public class VocabularyTests
{
    private static readonly string[] Texts =
    [
        "the cat sat on the mat",
        "The dog sat.",
        "a cat, a dog, the end",
    ];

    [Test]
    public void Ids_follow_frequency_with_ties_broken_by_first_occurrence_and_0_1_reserved()
    {
        var vocabulary = Vocabulary.Build(Texts);
        // the: 4; cat, sat, dog, a: 2 each (first seen in that order); on, mat, end: 1 each.
        Assert.That(vocabulary.Words, Is.EqualTo(new[] { "<pad>", "<oov>", "the", "cat", "sat", "dog", "a", "on", "mat", "end" }));
        Assert.That(vocabulary.Size, Is.EqualTo(10));
        Assert.That(vocabulary.Counts[2], Is.EqualTo(4));
        Assert.That(vocabulary.IdOf("dog"), Is.EqualTo(5));
        Assert.That(vocabulary.IdOf("unicorn"), Is.EqualTo(Vocabulary.OutOfVocabularyId));
    }

    [Test]
    public void MaxSize_counts_the_reserved_ids_and_keeps_the_most_frequent_words()
    {
        var vocabulary = Vocabulary.Build(Texts, maxSize: 5);
        Assert.That(vocabulary.Words, Is.EqualTo(new[] { "<pad>", "<oov>", "the", "cat", "sat" }));
        Assert.That(vocabulary.Encode("The dog sat on THE cat!"), Is.EqualTo(new[] { 2, 1, 4, 1, 2, 3 }));
        Assert.That(vocabulary.Counts[Vocabulary.OutOfVocabularyId], Is.EqualTo(15 - 8), "words left out of the vocabulary");
        Assert.Throws<ArgumentOutOfRangeException>(() => Vocabulary.Build(Texts, maxSize: 1));
    }

    [Test]
    public void Building_twice_gives_the_same_vocabulary_and_decode_inverts_encode()
    {
        var a = Vocabulary.Build(Texts);
        var b = Vocabulary.Build(Texts);
        Assert.That(a.Words, Is.EqualTo(b.Words));
        int[] ids = a.Encode("the dog sat on the mat");
        Assert.That(a.Decode(ids), Is.EqualTo("the dog sat on the mat"));
        Assert.That(a.Decode([0, 0, 1, 2]), Is.EqualTo("<oov> the"));
        Assert.That(a.Encode(Texts), Is.EqualTo(Texts.Select(a.Encode).ToArray()));
    }
}
