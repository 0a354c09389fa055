using System.Runtime.InteropServices;
using NanoNet.Autograd;

namespace NanoNet.Memory;

/// <summary>
/// Memory for one training step: the storage of every op output, gradient and saved activation, the
/// tensor objects themselves and the tape entries of the ops that made them (<see cref="TapeEntry.Rent{T}"/>),
/// recycled from step to step so a steady step allocates (almost) nothing.
/// </summary>
/// <remarks>
/// <para>
/// The training loop owns one and brackets each step: <see cref="Release"/> takes back everything the
/// previous step rented, then <see cref="Use"/> makes it this thread's <see cref="Active"/> memory while
/// the step runs. While a memory is active, <see cref="Tensor.Empty(ReadOnlySpan{int})"/> (what every op
/// uses for its output) and <see cref="Tensor.EnsureGrad"/> rent from it instead of the garbage-collected
/// heap. With no active memory (the default) every tensor is an ordinary array and has no lifetime rule.
/// </para>
/// <para>
/// <b>Generations.</b> Every rented tensor is stamped with the memory's <see cref="Generation"/>, and
/// <see cref="Release"/> advances it. A tensor used after its step was released (its values, shape or
/// gradient read, an op applied to it) throws <see cref="InvalidOperationException"/> naming the tensor,
/// instead of silently reading a later step's numbers. Storage arrays are recycled at once, but a
/// released tensor <i>object</i> stays in quarantine for one more step before it is handed out again, so
/// a reference kept from one step and read in the next always fails loudly. (A reference kept for two
/// or more steps without being read in between is the one case this cannot see: .NET cannot tell
/// whether some object still holds a reference, and allocating fresh objects every step instead would
/// cost more than the whole steady step's budget. Copy what you want to keep: <see cref="Tensor.Clone"/>.)
/// </para>
/// <para>Not thread-safe: one memory is used by one thread at a time (kernels' worker threads never rent).</para>
/// </remarks>
public sealed class StepMemory
{
    [ThreadStatic] private static StepMemory? t_active;

    private readonly BufferPool<float> _floats = new();
    private readonly BufferPool<int> _ints = new();
    private List<Tensor> _rented = [];               // handed out this generation
    private List<Tensor> _quarantined = [];          // released by the last Release, not yet reusable
    private readonly Stack<Tensor> _free = new();    // reusable objects

    // Tape entries of ops whose outputs were rented here (TapeEntry.Rent), recycled exactly like the tensor objects:
    // an entry is handed out again only after the quarantine its output also goes through. Idle ones by entry type.
    private List<TapeEntry> _rentedEntries = [];
    private List<TapeEntry> _quarantinedEntries = [];
    private readonly Dictionary<Type, Stack<TapeEntry>> _freeEntries = [];

    /// <summary>The memory ops rent from on this thread, or null (ordinary heap arrays).</summary>
    public static StepMemory? Active => t_active;

    /// <summary>
    /// Incremented by every <see cref="Release"/>; a rented tensor is valid while its stamp equals it.
    /// </summary>
    public int Generation { get; private set; } = 1;

    /// <summary>Number of tensor objects handed out since the last <see cref="Release"/>.</summary>
    public int RentedTensorCount => _rented.Count;

    /// <summary>
    /// Makes this memory the thread's <see cref="Active"/> one until the returned scope is disposed
    /// (scopes nest: the previous one comes back).
    /// </summary>
    public ActiveScope Use()
    {
        var scope = new ActiveScope(t_active);
        t_active = this;
        return scope;
    }

    /// <summary>
    /// Takes back everything rented since the previous call. Every tensor rented before is invalid from
    /// now on: using it throws.
    /// </summary>
    public void Release()
    {
        Generation++;
        _floats.ReturnAll();
        _ints.ReturnAll();
        foreach (Tensor tensor in _quarantined)
            _free.Push(tensor);
        _quarantined.Clear();
        (_quarantined, _rented) = (_rented, _quarantined);
        foreach (TapeEntry entry in _quarantinedEntries)
        {
            entry.ClearForReuse();
            ref Stack<TapeEntry>? free = ref CollectionsMarshal.GetValueRefOrAddDefault(_freeEntries, entry.GetType(), out _);
            (free ??= new()).Push(entry);
        }
        _quarantinedEntries.Clear();
        (_quarantinedEntries, _rentedEntries) = (_rentedEntries, _quarantinedEntries);
    }

    /// <summary>
    /// Gives back the memory kept for reuse: the idle storage arrays and the released tensor objects,
    /// quarantined ones included (they still point at their old storage). Call it after
    /// <see cref="Release"/> when no steps are coming soon, e.g. when training ends. A tensor of an
    /// earlier step stays invalid (its generation is past) and is simply never handed out again; the
    /// next step allocates afresh.
    /// </summary>
    public void Trim()
    {
        _floats.Trim();
        _ints.Trim();
        _free.Clear();
        _free.TrimExcess();
        _quarantined = [];
        _rented.TrimExcess();
        _freeEntries.Clear();
        _quarantinedEntries = [];
        _rentedEntries.TrimExcess();
    }

    /// <summary>A blank tape entry of type <typeparamref name="T"/> (recycled when one is idle) that lives until the release after next, like the tensor objects.</summary>
    internal T RentEntry<T>() where T : TapeEntry, new()
    {
        T entry = _freeEntries.TryGetValue(typeof(T), out Stack<TapeEntry>? free) && free.Count > 0 ? (T)free.Pop() : new T();
        _rentedEntries.Add(entry);
        return entry;
    }

    /// <summary>An int buffer (e.g. pooling's winner indices) that lives until the next <see cref="Release"/>.</summary>
    public int[] RentInts(int length) => _ints.Rent(length, clear: false);

    /// <summary>An int buffer from the active memory, or a new array when none is active.</summary>
    public static int[] NewInts(int length) => t_active?.RentInts(length) ?? new int[length];

    /// <summary>A tensor over rented storage (zeroed when asked); <paramref name="shape"/> must not be mutated later.</summary>
    internal Tensor RentTensor(int[] shape, bool zeroed)
    {
        // From the array's first cache line (see Tensor.OnCacheLine): the kernels read activations 64 bytes at a time.
        float[] storage = _floats.Rent(Shapes.Product(shape) + CacheLineAlignment.SlackFloats, zeroed);
        return Wrap(storage, CacheLineAlignment.Offset(storage), shape, gradientOwner: null);
    }

    /// <summary>A rented tensor object over existing storage (a view), stamped with the current generation.</summary>
    internal Tensor Wrap(float[] storage, int offset, int[] shape, Tensor? gradientOwner)
    {
        Tensor tensor = _free.Count > 0 ? _free.Pop() : Tensor.NewRecyclable();
        tensor.Rebind(storage, offset, shape, gradientOwner, this, Generation);
        _rented.Add(tensor);
        return tensor;
    }

    /// <summary>Restores the previously active memory.</summary>
    public readonly struct ActiveScope : IDisposable
    {
        private readonly StepMemory? _previous;

        internal ActiveScope(StepMemory? previous) => _previous = previous;

        /// <summary>Leaves the scope.</summary>
        public void Dispose() => t_active = _previous;
    }
}
