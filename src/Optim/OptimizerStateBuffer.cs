namespace NanoNet.Optim;

/// <summary>
/// One named state buffer of one named parameter of an <see cref="Optimizer"/> (for example Adam's
/// <c>"velocity"</c> of <c>"dense/kernel"</c>), as returned by <see cref="Optimizer.GetState"/> and
/// accepted by <see cref="Optimizer.LoadState"/>: what a checkpoint saves next to the weights.
/// </summary>
/// <remarks>
/// A buffer names its parameter (<see cref="Tensor.Name"/>) rather than a position in a list, so a
/// checkpoint can be loaded into a new process, whose parameter tensors are new objects, in whatever
/// order the parameters are listed there.
/// </remarks>
public readonly struct OptimizerStateBuffer
{
    /// <summary>Creates a buffer description.</summary>
    /// <param name="parameterName">The parameter's <see cref="Tensor.Name"/>, e.g. <c>"dense/kernel"</c>.</param>
    /// <param name="stateName">State name, one of <see cref="Optimizer.StateNames"/>.</param>
    /// <param name="values">The values, one per element of the parameter.</param>
    public OptimizerStateBuffer(string parameterName, string stateName, ReadOnlyMemory<float> values)
    {
        ArgumentException.ThrowIfNullOrEmpty(parameterName);
        ArgumentException.ThrowIfNullOrEmpty(stateName);
        ParameterName = parameterName;
        StateName = stateName;
        Values = values;
    }

    /// <summary>The parameter's <see cref="Tensor.Name"/>, e.g. <c>"dense/kernel"</c>.</summary>
    public string ParameterName { get; }

    /// <summary>State name, one of <see cref="Optimizer.StateNames"/> (Keras's names, e.g. <c>"momentum"</c>).</summary>
    public string StateName { get; }

    /// <summary>
    /// The values, one per element of the parameter. From <see cref="Optimizer.GetState"/> this is a live
    /// view of the optimizer's buffer: copy it (<c>ToArray()</c>) to keep a snapshot.
    /// </summary>
    public ReadOnlyMemory<float> Values { get; }

    /// <summary>E.g. <c>"dense/kernel" "velocity" (128)</c>.</summary>
    public override string ToString() => $"\"{ParameterName}\" \"{StateName}\" ({Values.Length})";
}
