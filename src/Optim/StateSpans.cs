namespace NanoNet.Optim;

/// <summary>
/// A parameter's state buffers (at most three, in <see cref="Optimizer.StateNames"/> order), or the same
/// range of each: what a built-in optimizer's rule reads and writes. A lazy step
/// (<see cref="Optimizer.Lazy"/>) hands the rule the touched rows of every buffer at once through
/// <see cref="Slice"/>; a dense step hands it the whole buffers.
/// </summary>
/// <remarks>Shape legend: every non-empty span has the length n of the weights it goes with; absent buffers are empty.</remarks>
internal readonly ref struct StateSpans
{
    private readonly Span<float> _s0, _s1, _s2;

    /// <summary>The whole buffers of one parameter.</summary>
    public StateSpans(float[][] state)
    {
        if (state.Length > 3)
            throw new ArgumentException($"A built-in rule keeps at most 3 state buffers, not {state.Length}.", nameof(state));
        _s0 = state.Length > 0 ? state[0] : default;
        _s1 = state.Length > 1 ? state[1] : default;
        _s2 = state.Length > 2 ? state[2] : default;
    }

    private StateSpans(Span<float> s0, Span<float> s1, Span<float> s2)
    {
        _s0 = s0;
        _s1 = s1;
        _s2 = s2;
    }

    /// <summary>Buffer number <paramref name="index"/> (0, 1 or 2); empty if the optimizer keeps fewer.</summary>
    public Span<float> this[int index] => index switch
    {
        0 => _s0,
        1 => _s1,
        2 => _s2,
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    /// <summary>Elements [start, start + length) of every buffer.</summary>
    public StateSpans Slice(int start, int length) =>
        new(SliceOf(_s0, start, length), SliceOf(_s1, start, length), SliceOf(_s2, start, length));

    private static Span<float> SliceOf(Span<float> buffer, int start, int length) => buffer.IsEmpty ? default : buffer.Slice(start, length);
}
