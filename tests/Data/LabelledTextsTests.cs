using NanoNet.Data;

namespace NanoNet.Tests.Data;

public class LabelledTextsTests
{
    private static LabelledTexts Grouped(int count) => new(
        [.. Enumerable.Range(0, count).Select(i => $"text {i}")], [.. Enumerable.Range(0, count).Select(i => i < count / 2 ? 0 : 1)], ["neg", "pos"]);

    [Test]
    public void RandomSubsetDrawsDistinctTextsWithTheirLabelsReproducibly()
    {
        LabelledTexts all = Grouped(100);
        LabelledTexts subset = all.RandomSubset(30, seed: 4);
        Assert.That(subset.Count, Is.EqualTo(30));
        Assert.That(subset.Texts.Distinct().Count(), Is.EqualTo(30));
        for (int i = 0; i < subset.Count; i++)
            Assert.That(subset.Labels[i], Is.EqualTo(int.Parse(subset.Texts[i][5..]) < 50 ? 0 : 1), subset.Texts[i]);
        Assert.That(subset.Labels, Has.Some.EqualTo(0).And.Some.EqualTo(1), "a random draw from grouped classes has both");
        Assert.That(all.RandomSubset(30, seed: 4).Texts, Is.EqualTo(subset.Texts));
        Assert.That(all.RandomSubset(30, seed: 5).Texts, Is.Not.EqualTo(subset.Texts));
        Assert.That(all.RandomSubset(500, seed: 1).Count, Is.EqualTo(100));
        Assert.Throws<ArgumentOutOfRangeException>(() => all.RandomSubset(0, seed: 1));
    }
}
