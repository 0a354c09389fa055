namespace NanoNet.Tests;

public class TensorTests
{
    [Test]
    public void ReshapeIsAViewAndInfersMinusOne()
    {
        var t = Tensor.FromArray([1, 2, 3, 4, 5, 6], 2, 3);
        Tensor r = t.Reshape(3, -1);
        Assert.That(r.Shape.ToArray(), Is.EqualTo(new[] { 3, 2 }));
        r[0] = 42f;
        Assert.That(t[0], Is.EqualTo(42f), "a reshape must share storage");
    }

    [Test]
    public void ReshapeToWrongSizeNamesBothShapes()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3).Reshape(4, 2));
        Assert.That(ex!.Message, Does.Contain("(2, 3)").And.Contain("(4, 2)"));
    }

    [Test]
    public void SliceRowsIsAView()
    {
        var t = Tensor.FromArray([0, 1, 2, 3, 4, 5], 3, 2);
        Tensor rows = t.SliceRows(1, 2);
        Assert.That(rows.ToArray(), Is.EqualTo(new float[] { 2, 3, 4, 5 }));
        rows[0] = -1f;
        Assert.That(t[2], Is.EqualTo(-1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.SliceRows(2, 2));
    }

    [Test]
    public void Reductions()
    {
        var t = Tensor.FromArray([1, 5, 2, 7, 0, 3], 2, 3);
        Assert.That(t.Sum(), Is.EqualTo(18f));
        Assert.That(t.Mean(), Is.EqualTo(3f));
        Assert.That(t.Max(), Is.EqualTo(7f));
        Assert.That(t.ArgMaxRows(), Is.EqualTo(new[] { 1, 0 }));
    }

    [Test]
    public void FromArrayChecksTheLength()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor.FromArray([1, 2, 3], 2, 2));
        Assert.That(ex!.Message, Does.Contain("(2, 2)").And.Contain("3"));
    }

    [Test]
    public void SeededRandomIsReproducibleAndHasTheRightMoments()
    {
        Tensor a = Tensor.RandomNormal([100_000], 1f, 2f, seed: 7);
        Tensor b = Tensor.RandomNormal([100_000], 1f, 2f, seed: 7);
        Assert.That(a.ToArray(), Is.EqualTo(b.ToArray()));
        double mean = a.Mean();
        double variance = a.ToArray().Select(v => (v - mean) * (v - mean)).Average();
        Assert.That(mean, Is.EqualTo(1.0).Within(0.03));
        Assert.That(Math.Sqrt(variance), Is.EqualTo(2.0).Within(0.03));
    }

    [Test]
    public void GlorotUniformStaysWithinItsLimit()
    {
        var w = new float[64 * 32];
        Initializers.GlorotUniform(w, 64, 32, new RandomStream(1));
        float limit = MathF.Sqrt(6f / 96f);
        Assert.That(w.Max(), Is.LessThanOrEqualTo(limit));
        Assert.That(w.Min(), Is.GreaterThanOrEqualTo(-limit));
        Assert.That(w.Max(), Is.GreaterThan(0.9f * limit), "the whole range should be used");
    }

    [Test]
    public void ParallelismRejectsZeroThreads() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Parallelism.MaxThreads = 0);
}
