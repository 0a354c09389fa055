using NanoNet.Data;

namespace NanoNet.Tests.Data;

public class SequencesTests
{
    private static readonly int[][] Ids = [[1, 2, 3], [4, 5, 6, 7, 8], [9]];

    [Test]
    public void Defaults_pad_and_truncate_at_the_front_like_Keras()
    {
        Tensor padded = Sequences.Pad(Ids, 4);
        Assert.That(padded.Shape.ToArray(), Is.EqualTo(new[] { 3, 4 }));
        Assert.That(padded.ToArray(), Is.EqualTo(new float[] { 0, 1, 2, 3, /**/ 5, 6, 7, 8, /**/ 0, 0, 0, 9 }));
    }

    [Test]
    public void Post_pads_and_truncates_at_the_back()
    {
        Tensor padded = Sequences.Pad(Ids, 4, padding: SequenceEnd.Post, truncating: SequenceEnd.Post);
        Assert.That(padded.ToArray(), Is.EqualTo(new float[] { 1, 2, 3, 0, /**/ 4, 5, 6, 7, /**/ 9, 0, 0, 0 }));
        Tensor mixed = Sequences.Pad(Ids, 4, padding: SequenceEnd.Post, truncating: SequenceEnd.Pre, value: -1);
        Assert.That(mixed.ToArray(), Is.EqualTo(new float[] { 1, 2, 3, -1, /**/ 5, 6, 7, 8, /**/ 9, -1, -1, -1 }));
    }

    [Test]
    public void Without_a_length_the_longest_sequence_sets_it_and_the_mask_marks_real_ids()
    {
        var (ids, mask) = Sequences.PadWithMask(Ids);
        Assert.That(ids.Shape.ToArray(), Is.EqualTo(new[] { 3, 5 }));
        Assert.That(mask.ToArray(), Is.EqualTo(new float[] { 0, 0, 1, 1, 1, /**/ 1, 1, 1, 1, 1, /**/ 0, 0, 0, 0, 1 }));
        Assert.That(Sequences.Pad([[], [1]], 2).ToArray(), Is.EqualTo(new float[] { 0, 0, 0, 1 }));
    }
}
