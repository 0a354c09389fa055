using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// <see cref="DistinctIds.Number"/> never clears its id → slot table: whatever the table holds before a call (an earlier
/// batch's slots, garbage, slot numbers that this batch will give to other ids), the numbering must be the first-occurrence
/// numbering a dictionary gives.
/// </summary>
public class DistinctIdsTests
{
    private const int Vocabulary = 50;

    [Test]
    public void NumbersByFirstOccurrenceWhateverTheTableHeld()
    {
        var rng = new Random(5);
        int[] table = new int[Vocabulary];
        // Before the first batch: small numbers (slots the batch will give out, to other ids), negatives, huge values.
        for (int i = 0; i < table.Length; i++)
            table[i] = rng.Next(3) switch { 0 => rng.Next(8), 1 => -rng.Next(1, 1000), _ => rng.Next() };
        // Then batches one after the other on the same table and slot list, each leaving its slots and ids behind.
        int[] distinct = [.. Enumerable.Range(0, Vocabulary).Select(_ => rng.Next(Vocabulary))];
        for (int batch = 0; batch < 40; batch++)
        {
            int positions = rng.Next(1, 120), range = rng.Next(1, Vocabulary + 1);
            int[] ids = [.. Enumerable.Range(0, positions).Select(_ => rng.Next(range))];
            AssertNumbering(ids, table, distinct);
        }
    }

    [Test]
    public void AStaleSlotPointingAtAnotherIdsEntryIsNotBelieved()
    {
        // Id 7's stale entry says slot 0, which this batch gives to id 3 first; id 9's says slot 1, not given out yet.
        int[] table = new int[Vocabulary], distinct = new int[Vocabulary];
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
        int count = DistinctIds.Number(ids, table, slots, distinct);
        Assert.That(count, Is.EqualTo(expectedSlots.Count));
        Assert.That(distinct.Take(count), Is.EqualTo(expectedSlots.OrderBy(kv => kv.Value).Select(kv => kv.Key)));
        Assert.That(slots, Is.EqualTo(ids.Select(id => expectedSlots[id])));
    }
}
