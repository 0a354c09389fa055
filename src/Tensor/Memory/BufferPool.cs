namespace NanoNet.Memory;

/// <summary>
/// Recycles arrays by exact length. A training step asks for the same sizes every time, so after the
/// first step every request is served from the free lists and the step allocates no new storage.
/// </summary>
/// <remarks>
/// <para>
/// Retention is bounded: arrays of a length no step has asked for in the last
/// <see cref="RetainedReleases"/> releases are dropped (an epoch's last, smaller batch, a one-off
/// shape), so the pool holds what recent steps used, not the peak of every step ever run.
/// <see cref="Trim"/> drops every idle array at once (after training).
/// </para>
/// <para>Not thread-safe: each <see cref="StepMemory"/> owns its pools.</para>
/// </remarks>
internal sealed class BufferPool<T>
{
    /// <summary>Releases a length may go unused before its idle arrays are dropped.</summary>
    public const int RetainedReleases = 4;

    private readonly Dictionary<int, FreeList> _free = [];
    private readonly List<T[]> _rented = [];
    private int _release;

    /// <summary>The idle arrays of one length and the last release period that asked for that length.</summary>
    private sealed class FreeList
    {
        public readonly Stack<T[]> Arrays = new();
        public int LastUsed;
    }

    /// <summary>An array of exactly <paramref name="length"/> elements, cleared when <paramref name="clear"/> is set.</summary>
    public T[] Rent(int length, bool clear)
    {
        T[] array;
        if (_free.TryGetValue(length, out FreeList? list) && list.Arrays.Count > 0)
        {
            array = list.Arrays.Pop();
            if (clear)
                Array.Clear(array);
        }
        else
        {
            array = clear ? new T[length] : GC.AllocateUninitializedArray<T>(length);
        }
        if (list is not null)
            list.LastUsed = _release;
        _rented.Add(array);
        return array;
    }

    /// <summary>Takes back every array rented since the last call, and drops idle lengths no recent step used.</summary>
    public void ReturnAll()
    {
        foreach (T[] array in _rented)
        {
            if (!_free.TryGetValue(array.Length, out FreeList? list))
                _free[array.Length] = list = new FreeList { LastUsed = _release };
            list.Arrays.Push(array);
        }
        _rented.Clear();
        _release++;
        // Removing while enumerating is allowed for Dictionary (no allocation, no invalidation).
        foreach ((int length, FreeList list) in _free)
            if (_release - list.LastUsed > RetainedReleases)
                _free.Remove(length);
    }

    /// <summary>Drops every idle array (those rented now still come back at the next <see cref="ReturnAll"/>).</summary>
    public void Trim() => _free.Clear();
}
