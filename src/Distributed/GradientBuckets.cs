using System.Diagnostics;
using System.Numerics.Tensors;

namespace NanoNet.Distributed;

/// <summary>
/// The gradients of a model laid end to end in one pinned buffer and cut into buckets of at most
/// <c>bucketBytes</c>, each all-reduced with one <c>MPI_Iallreduce</c> as soon as every gradient in it
/// is final, while backward goes on.
/// </summary>
/// <remarks>
/// <para>
/// Layout (P = processes, the parameters in reverse model order, since backward finishes the last
/// layer's gradients first):
/// <code>
///  flat:    | g_last … | … | g_first |          one float32 per gradient element
///  buckets: [ 0 ][ 1 ][ 2 ] … [ k−1 ]            ≤ bucketBytes each, a parameter may span several
/// </code>
/// A bucket starts once all the parameters overlapping it have been reported ready
/// (<see cref="MarkReady"/>); <see cref="Finish"/> starts the rest, waits for every bucket in bucket
/// order, and writes flat / P back into the gradients. Every process builds the same layout and
/// starts the buckets in the same order (backward's order is fixed), which MPI's collectives require.
/// The sum's order inside MPI depends only on the algorithm, which Open MPI picks from the message
/// size and process count, never from timing.
/// </para>
/// <para>
/// With gradient accumulation a parameter is reported ready once per accumulated batch: the second
/// report means the early all-reduces carried partial sums, so they are waited for, ignored, and the
/// whole buffer is reduced again at <see cref="Finish"/> (correct, without overlap).
/// </para>
/// </remarks>
internal sealed unsafe class GradientBuckets
{
    private readonly MpiWorld _world;
    private readonly Tensor[] _parameters;          // in flat order (reverse model order)
    private readonly Dictionary<Tensor, int> _index = new(ReferenceEqualityComparer.Instance);
    private readonly int[] _offsets;
    private readonly float[] _flat;                 // pinned: MPI reads and writes it while .NET runs
    private readonly int _bucketLength;
    private readonly int[] _parametersPerBucket, _remaining;
    private readonly nint[] _requests;
    private readonly bool[] _started, _done, _seen;
    private bool _repeated;

    public GradientBuckets(MpiWorld world, IReadOnlyList<Tensor> parameters, int bucketBytes)
    {
        _world = world;
        _parameters = [.. parameters.Reverse()];
        _offsets = new int[_parameters.Length];
        long total = 0;
        for (int i = 0; i < _parameters.Length; i++)
        {
            if (!_index.TryAdd(_parameters[i], i))
                throw new ArgumentException($"DataParallel: parameter '{_parameters[i].Name}' appears twice in the model's parameter list.", nameof(parameters));
            _offsets[i] = (int)total;
            total += _parameters[i].Length;
        }
        if (total > Array.MaxLength)
            throw new ArgumentException($"DataParallel: the model has {total} gradient values; at most {Array.MaxLength} fit one buffer.", nameof(parameters));
        _flat = GC.AllocateArray<float>((int)total, pinned: true);
        _bucketLength = Math.Max(1, bucketBytes / sizeof(float));
        int buckets = (int)((total + _bucketLength - 1) / _bucketLength);
        _parametersPerBucket = new int[buckets];
        for (int i = 0; i < _parameters.Length; i++)
            for (int b = FirstBucket(i); b <= LastBucket(i); b++)
                _parametersPerBucket[b]++;
        _remaining = (int[])_parametersPerBucket.Clone();
        _requests = new nint[buckets];
        _started = new bool[buckets];
        _done = new bool[buckets];
        _seen = new bool[_parameters.Length];
    }

    /// <summary>Number of buckets.</summary>
    public int Count => _requests.Length;

    /// <summary>Gradient bytes all-reduced per step.</summary>
    public long Bytes => (long)_flat.Length * sizeof(float);

    /// <summary>Buckets started during backward (before <see cref="Finish"/>), since the last <see cref="Finish"/>.</summary>
    public int StartedEarly { get; private set; }

    /// <summary>Whether <paramref name="parameter"/> is one of the reduced parameters.</summary>
    public bool Contains(Tensor parameter) => _index.ContainsKey(parameter);

    /// <summary>
    /// Copies a parameter's final gradient into its slot and starts every bucket this completes; then lets
    /// MPI progress the buckets in flight (Open MPI's non-blocking collectives advance only inside MPI calls).
    /// </summary>
    public void MarkReady(Tensor parameter)
    {
        if (!_index.TryGetValue(parameter, out int i) || parameter.Grad is not { } gradient)
            return;
        if (_seen[i])
        {
            _repeated = true; // a second backward before the step: gradient accumulation
            return;
        }
        _seen[i] = true;
        if (_repeated)
            return;
        gradient.Span.CopyTo(_flat.AsSpan(_offsets[i], _parameters[i].Length));
        for (int b = FirstBucket(i); b <= LastBucket(i); b++)
            if (--_remaining[b] == 0)
            {
                Start(b);
                StartedEarly++;
            }
        Progress();
    }

    /// <summary>
    /// Completes the step's reduction: starts the buckets not started yet, waits for all in bucket order,
    /// and replaces each gradient with the mean over the processes. Returns the seconds spent waiting.
    /// </summary>
    public void Finish(IReadOnlyList<Tensor> withGradients, out double waitSeconds)
    {
        for (int k = 0; k < withGradients.Count; k++)
            if (!_index.ContainsKey(withGradients[k]))
                throw new InvalidOperationException(
                    $"DataParallel: parameter '{withGradients[k].Name}' is not among the parameters it was set up with (was the model changed after Fit began?).");
        if (_repeated)
        {
            for (int b = 0; b < Count; b++)
                if (_started[b] && !_done[b])
                    _world.Wait(ref _requests[b]); // partial sums: discarded
            Array.Clear(_started);
            Array.Clear(_done);
        }
        for (int i = 0; i < _parameters.Length; i++)
        {
            Span<float> slot = _flat.AsSpan(_offsets[i], _parameters[i].Length);
            if (_parameters[i].Grad is not { } gradient)
                slot.Clear();                      // the same on every process: no gradient anywhere
            else if (!_seen[i] || _repeated)
                gradient.Span.CopyTo(slot);        // not reported ready (no backward seam), or accumulated
        }
        for (int b = 0; b < Count; b++)
            if (!_started[b])
                Start(b);
        long started = Stopwatch.GetTimestamp();
        for (int b = 0; b < Count; b++)
            if (!_done[b])
                _world.Wait(ref _requests[b]);
        waitSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;

        float scale = 1f / _world.Size;
        for (int i = 0; i < _parameters.Length; i++)
            if (_parameters[i].Grad is { } gradient)
                TensorPrimitives.Multiply(_flat.AsSpan(_offsets[i], _parameters[i].Length), scale, gradient.Span);
        Reset();
    }

    /// <summary>Forgets a step in progress (training stopped between backward and the update).</summary>
    public void Abandon()
    {
        for (int b = 0; b < Count; b++)
            if (_started[b] && !_done[b])
                _world.Wait(ref _requests[b]);
        Reset();
    }

    private void Reset()
    {
        _parametersPerBucket.CopyTo(_remaining, 0);
        Array.Clear(_started);
        Array.Clear(_done);
        Array.Clear(_seen);
        _repeated = false;
        StartedEarly = 0;
    }

    private void Start(int bucket)
    {
        int start = bucket * _bucketLength, count = Math.Min(_bucketLength, _flat.Length - start);
        fixed (float* data = &_flat[start]) // the array is pinned for its life; fixed only takes its address
            _requests[bucket] = _world.StartAllReduceSum(data, count);
        _started[bucket] = true;
    }

    private void Progress()
    {
        for (int b = 0; b < Count; b++)
            if (_started[b] && !_done[b])
                _done[b] = _world.Test(ref _requests[b]);
    }

    private int FirstBucket(int parameter) => _offsets[parameter] / _bucketLength;

    private int LastBucket(int parameter) => (_offsets[parameter] + _parameters[parameter].Length - 1) / _bucketLength; // an empty parameter touches at most one;
}
