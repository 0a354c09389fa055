namespace NanoNet.Layers;

/// <summary>
/// A layer that runs over the steps of a sequence (<see cref="Lstm"/>, <c>Gru</c>, <c>SimpleRnn</c>):
/// what <see cref="Bidirectional"/> needs to know to wrap it. Its config must hold <c>go_backwards</c> and
/// <c>name</c>, so that a copy running the other way can be built through <see cref="LayerRegistry"/>.
/// </summary>
public interface IRecurrentLayer
{
    /// <summary>Units of the output (the state size).</summary>
    int Units { get; }

    /// <summary>Whether every step's output is returned, (N, T, units), rather than the last, (N, units).</summary>
    bool ReturnSequences { get; }

    /// <summary>Whether the sequence is processed last step first.</summary>
    bool GoBackwards { get; }
}
