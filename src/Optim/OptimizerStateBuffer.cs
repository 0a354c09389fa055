namespace NanoNet.Optim;

/// <summary>
/// One named state buffer of one parameter slot of an <see cref="Optimizer"/> (for example Adam's
/// <c>"velocity"</c> of parameter 3), as returned by <see cref="Optimizer.GetState"/> and accepted by
/// <see cref="Optimizer.LoadState"/>: what a checkpoint saves next to the weights.
/// </summary>
public readonly struct OptimizerStateBuffer
{
    /// <summary>Creates a buffer description.</summary>
    /// <param name="slot">Index of the parameter in the list passed to <see cref="Optimizer.Step"/>.</param>
    /// <param name="name">State name, one of <see cref="Optimizer.StateNames"/>.</param>
    /// <param name="values">The values, one per element of the parameter.</param>
    public OptimizerStateBuffer(int slot, string name, ReadOnlyMemory<float> values)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        ArgumentNullException.ThrowIfNull(name);
        Slot = slot;
        Name = name;
        Values = values;
    }

    /// <summary>Index of the parameter in the list passed to <see cref="Optimizer.Step"/>.</summary>
    public int Slot { get; }

    /// <summary>State name, one of <see cref="Optimizer.StateNames"/> (Keras's names, e.g. <c>"momentum"</c>).</summary>
    public string Name { get; }

    /// <summary>
    /// The values, one per element of the parameter. From <see cref="Optimizer.GetState"/> this is a live
    /// view of the optimizer's buffer: copy it (<c>ToArray()</c>) to keep a snapshot.
    /// </summary>
    public ReadOnlyMemory<float> Values { get; }

    /// <summary>E.g. <c>slot 3 "velocity" (128)</c>.</summary>
    public override string ToString() => $"slot {Slot} \"{Name}\" ({Values.Length})";
}
