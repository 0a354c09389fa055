using NanoNet.Data;

namespace NanoNet.Tests.Data;

/// <summary>
/// <see cref="MiniBatchLoader.ShardIndex"/> / <see cref="MiniBatchLoader.ShardCount"/>: the shards of P
/// loaders partition every global batch of one loader with batch B × P, from the same shuffle.
/// </summary>
public class ShardedLoaderTests
{
    /// <summary>Row i holds the value i, so a batch says which rows it holds.</summary>
    private static Dataset Numbered(int rows) =>
        new(Tensor.FromArray([.. Enumerable.Range(0, rows).Select(i => (float)i)], rows, 1), Tensor.Zeros(rows));

    private static List<int[]> Epoch(MiniBatchLoader loader) =>
        [.. loader.NextEpoch().Select(b => b.Features.Span.ToArray().Select(v => (int)v).ToArray())];

    [TestCase(103, 8, 3)]   // 4 global batches of 24, then 7 rows: shards of 2, one row dropped
    [TestCase(64, 8, 2)]    // divides: nothing dropped
    [TestCase(10, 4, 4)]    // a global batch of 16 > 10 rows: one batch, shards of 2, 2 rows dropped
    [TestCase(50, 5, 1)]    // one shard: the ordinary loader
    public void ShardsPartitionEachGlobalBatchOfTheUnshardedOrder(int rows, int batch, int shards)
    {
        Dataset data = Numbered(rows);
        var whole = new MiniBatchLoader(data, batch * shards, shuffle: true, seed: 7) { Epoch = 2 };
        List<int[]> global = Epoch(whole);
        var perShard = new List<List<int[]>>();
        for (int s = 0; s < shards; s++)
        {
            var loader = new MiniBatchLoader(data, batch, shuffle: true, seed: 7) { ShardIndex = s, ShardCount = shards, Epoch = 2 };
            perShard.Add(Epoch(loader));
            Assert.That(perShard[s], Has.Count.EqualTo(loader.BatchCount), $"shard {s}: BatchCount");
        }

        int expectedBatches = global.Count(b => b.Length >= shards);
        for (int s = 0; s < shards; s++)
            Assert.That(perShard[s], Has.Count.EqualTo(expectedBatches), $"shard {s}: batches");
        for (int k = 0; k < expectedBatches; k++)
        {
            int size = global[k].Length / shards;
            int[] joined = [.. Enumerable.Range(0, shards).SelectMany(s => perShard[s][k])];
            Assert.That(perShard.Select(p => p[k].Length), Is.All.EqualTo(size), $"batch {k}: equal shards");
            Assert.That(joined, Is.EqualTo(global[k][..(size * shards)]), $"batch {k}: the shards in rank order are the global batch");
        }
        int dropped = rows - perShard.Sum(p => p.Sum(b => b.Length));
        Assert.That(dropped, Is.EqualTo(global.Count == expectedBatches ? global[^1].Length % shards : global[^1].Length));
        Assert.That(dropped, Is.LessThan(shards));
    }

    [Test]
    public void AShardOutsideTheCountIsAnErrorNamingBoth()
    {
        var loader = new MiniBatchLoader(Numbered(10), 2) { ShardIndex = 2, ShardCount = 2 };
        Assert.That(() => loader.NextEpoch(), Throws.InvalidOperationException.With.Message.Contains("shard 2 of 2"));
    }
}
