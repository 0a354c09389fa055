namespace NanoNet.Memory;

/// <summary>
/// Recycles arrays by exact length. A training step asks for the same sizes every time, so after the
/// first step every request is served from the free lists and the step allocates no new storage.
/// </summary>
/// <remarks>Not thread-safe: each <see cref="Autograd.Tape"/> (one per thread) owns its pools.</remarks>
internal sealed class BufferPool<T>
{
    private readonly Dictionary<int, Stack<T[]>> _free = [];
    private readonly List<T[]> _rented = [];

    /// <summary>An array of exactly <paramref name="length"/> elements, cleared when <paramref name="clear"/> is set.</summary>
    public T[] Rent(int length, bool clear)
    {
        T[] array;
        if (_free.TryGetValue(length, out Stack<T[]>? stack) && stack.Count > 0)
        {
            array = stack.Pop();
            if (clear)
                Array.Clear(array);
        }
        else
        {
            array = clear ? new T[length] : GC.AllocateUninitializedArray<T>(length);
        }
        _rented.Add(array);
        return array;
    }

    /// <summary>Takes back every array rented since the last call.</summary>
    public void ReturnAll()
    {
        foreach (T[] array in _rented)
        {
            if (!_free.TryGetValue(array.Length, out Stack<T[]>? stack))
                _free[array.Length] = stack = new Stack<T[]>();
            stack.Push(array);
        }
        _rented.Clear();
    }
}
