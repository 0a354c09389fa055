using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// <see cref="DistinctIds.Number"/> clears its id → slot table only when it is small next to the positions: whatever a
/// large table holds before a call (an earlier batch's slots, garbage, slot numbers that this batch will give to other
/// ids), and whichever way the table is taken, the numbering must be the first-occurrence numbering a dictionary gives.
/// </summary>
public class DistinctIdsTests
{
    // 50 ids: cleared for 7 positions and more; 100,000: never cleared (at most 120 positions here).
    [TestCase(50)]
    [TestCase(100_000)]
    public void NumbersByFirstOccurrenceWhateverTheTableHeld(int vocabulary)
    {
        var rng = new Random(5);
        int[] table = new int[vocabulary];
        // Before the first batch: small numbers (slots the batch will give out, to other ids), negatives, huge values.
        for (int i = 0; i < table.Length; i++)
            table[i] = rng.Next(3) switch { 0 => rng.Next(8), 1 => -rng.Next(1, 1000), _ => rng.Next() };
        // Then batches one after the other on the same table and slot list, each leaving its slots and ids behind.
        int[] distinct = [.. Enumerable.Range(0, 120).Select(_ => rng.Next(vocabulary))];
        for (int batch = 0; batch < 40; batch++)
        {
            // Some batches over a few ids (many repeats), some over the whole vocabulary.
            int positions = rng.Next(1, 120), range = batch % 2 == 0 ? Math.Min(vocabulary, rng.Next(1, 60)) : vocabulary;
            int[] ids = [.. Enumerable.Range(0, positions).Select(_ => rng.Next(range))];
            AssertNumbering(ids, table, distinct);
        }
    }

    [Test]
    public void AStaleSlotPointingAtAnotherIdsEntryIsNotBelieved()
    {
        // Id 7's stale entry says slot 0, which this batch gives to id 3 first; id 9's says slot 1, not given out yet.
        // 1,000 ids for 6 positions: the table is not cleared.
        int[] table = new int[1000], distinct = new int[6];
        table[7] = 0;
        table[9] = 1;
        distinct[1] = 9; // an earlier batch's slot 1 was id 9's
        AssertNumbering([3, 7, 3, 9, 7, 9], table, distinct);
    }

    private static void AssertNumbering(int[] ids, int[] table, int[] distinct)
    {
        var expectedSlots = new Dictionary<int, int>();
        foreach (int id in ids)
            expectedSlots.TryAdd(id, expectedSlots.Count);
        int[] slots = new int[ids.Length];
        int count = DistinctIds.Number(ids, table, slots, distinct.AsSpan(0, Math.Min(distinct.Length, Math.Max(ids.Length, 1))));
        Assert.That(count, Is.EqualTo(expectedSlots.Count));
        Assert.That(distinct.Take(count), Is.EqualTo(expectedSlots.OrderBy(kv => kv.Value).Select(kv => kv.Key)));
        Assert.That(slots, Is.EqualTo(ids.Select(id => expectedSlots[id])));
    }
}
