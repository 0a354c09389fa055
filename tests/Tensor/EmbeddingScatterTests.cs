using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// The embedding's parallel scatter-add: the table's rows are cut into one share per worker (at equal shares of the
/// table, or where the optimizer's update and the clearing cut the gradient's touched rows), and whatever the cut, every
/// row must receive its gradients in position order, so the sums are one thread's bit for bit.
/// </summary>
[NonParallelizable] // sets Parallelism.MaxThreads, which is process-wide
public class EmbeddingScatterTests
{
    private const int Vocabulary = 5_000, Positions = Vocabulary + 3_000, Width = 48; // 384,000 floats: the parallel path

    /// <summary>
    /// Every id once in a shuffled order (so that every row is touched and a cut that drops a row shows), then ids as a
    /// tokenizer numbering words by frequency gives them (id k about as often as 1/(k + 1)), repeated.
    /// </summary>
    private static float[] FrequencyRankedIds(int seed)
    {
        var rng = new Random(seed);
        double harmonic = Math.Log(Vocabulary) + 0.5772;
        return [.. Enumerable.Range(0, Vocabulary).OrderBy(_ => rng.Next()).Select(id => (float)id),
            .. Enumerable.Range(0, Positions - Vocabulary).Select(_ => (float)Math.Min(Vocabulary - 1, (int)Math.Exp(rng.NextDouble() * harmonic) - 1))];
    }

    [Test]
    public void TheTableGradientIsOneThreadsWhateverTheWorkersAndTheCut()
    {
        float[] ids = FrequencyRankedIds(seed: 7);
        var rng = new Random(11);
        float[] upstream = [.. Enumerable.Range(0, Positions * Width).Select(_ => rng.NextSingle() * 2 - 1)];
        int[] intIds = [.. ids.Select(id => (int)id)];
        float[] expected = new float[Vocabulary * Width];
        for (int p = 0; p < Positions; p++) // position after position, the masked id 0 skipped
            if (intIds[p] != 0)
                for (int j = 0; j < Width; j++)
                    expected[intIds[p] * Width + j] += upstream[p * Width + j];
        int saved = Parallelism.MaxThreads;
        try
        {
            foreach (int threads in new[] { 1, 2, 3 })
            {
                Parallelism.MaxThreads = threads;
                // Through the op: the gradient's touched rows are known, so the scatter cuts them as the update will.
                Tensor table = Tensor.Zeros(Vocabulary, Width).AsParameter("table");
                Tensor y = Ops.Embedding(Tensor.FromArray(ids, 1, Positions), table, maskZero: true);
                Ops.Sum(y * Tensor.FromArray(upstream, 1, Positions, Width)).Backward();
                Assert.That(table.TouchedGradientRows, Is.Not.Null, "the touched rows are tracked");
                Assert.That(table.Grad!.ToArray(), Is.EqualTo(expected), $"through Ops.Embedding, {threads} thread(s)");
                // Straight to the kernel, at equal shares of the table's rows.
                float[] direct = new float[Vocabulary * Width];
                EmbeddingKernels.ScatterAdd(intIds, upstream, direct, Width, maskedId: 0);
                Assert.That(direct, Is.EqualTo(expected), $"cut at equal shares, {threads} thread(s)");
            }
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }
}
