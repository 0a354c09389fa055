namespace NanoNet.Data;

/// <summary>
/// Texts with one class label each (ids 0..k−1), as read by <see cref="Imdb"/> or <see cref="LabelledTextCsv"/>.
/// </summary>
public sealed class LabelledTexts
{
    /// <summary>Pairs texts with labels; every label must be an index into <paramref name="classNames"/>.</summary>
    public LabelledTexts(IReadOnlyList<string> texts, IReadOnlyList<int> labels, IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(classNames);
        if (texts.Count != labels.Count)
            throw new ArgumentException($"LabelledTexts: {texts.Count} texts but {labels.Count} labels.");
        for (int i = 0; i < labels.Count; i++)
            if (labels[i] < 0 || labels[i] >= classNames.Count)
                throw new ArgumentException($"LabelledTexts: label {labels[i]} of text {i} is outside 0..{classNames.Count - 1} ({classNames.Count} classes).");
        Texts = texts;
        Labels = labels;
        ClassNames = classNames;
    }

    /// <summary>The texts.</summary>
    public IReadOnlyList<string> Texts { get; }

    /// <summary>The class id of each text.</summary>
    public IReadOnlyList<int> Labels { get; }

    /// <summary>The name of each class id (e.g. "neg", "pos"; or the label as written in a CSV file).</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Number of texts.</summary>
    public int Count => Texts.Count;

    /// <summary>
    /// <paramref name="count"/> texts drawn at random without replacement (all of them, shuffled, when there are
    /// fewer), with their labels: a seeded subset for a quick run (the IMDB splits are grouped by class, so the
    /// first N would be one class).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is less than 1.</exception>
    public LabelledTexts RandomSubset(int count, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        int[] order = Enumerable.Range(0, Count).ToArray();
        new RandomStream((ulong)seed).Shuffle<int>(order);
        int[] picked = order[..Math.Min(count, Count)];
        return new LabelledTexts(picked.Select(i => Texts[i]).ToArray(), picked.Select(i => Labels[i]).ToArray(), ClassNames);
    }

    /// <summary>
    /// Encodes the texts with <paramref name="vocabulary"/> and pads them to <paramref name="sequenceLength"/>
    /// (Keras defaults: pad and truncate at the front): features (N, T) of ids, labels (N) of class ids.
    /// </summary>
    public Dataset ToDataset(Vocabulary vocabulary, int sequenceLength,
        SequenceEnd padding = SequenceEnd.Pre, SequenceEnd truncating = SequenceEnd.Pre)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        Tensor ids = Sequences.Pad(vocabulary.Encode(Texts), sequenceLength, padding, truncating);
        var labels = Tensor.Zeros(Count);
        for (int i = 0; i < Count; i++)
            labels[i] = Labels[i];
        return new Dataset(ids, labels);
    }
}
