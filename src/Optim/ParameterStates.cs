using System.Diagnostics.CodeAnalysis;

namespace NanoNet.Optim;

/// <summary>
/// An optimizer's per-parameter state buffers, looked up by the parameter tensor's <em>identity</em>
/// during training and saved and loaded by the parameter's <em>name</em> in checkpoints.
/// </summary>
/// <remarks>
/// <para>
/// Why identity: the list passed to <see cref="Optimizer.Step"/> may change between steps (a layer is
/// frozen or unfrozen, parameters are added, the list is rebuilt in another order). Keyed by the tensor
/// object itself (<see cref="ReferenceEqualityComparer"/>, so no <c>Equals</c> override can interfere),
/// each parameter always finds its own velocity or moments; keyed by position, a reordered list would
/// silently hand one parameter another's state.
/// </para>
/// <para>
/// Why names for checkpoints: a resumed process has new tensor objects, so identity cannot survive a
/// save. <see cref="Tensor.Name"/> (e.g. <c>"dense/kernel"</c>, set by the layers) can, provided it is
/// unique; <see cref="ToBuffers"/> and <see cref="MatchByName"/> check that and name every offender.
/// </para>
/// <para>
/// The dictionary is paired with a list of its keys, so the state is listed in the order parameters
/// first received it (a <see cref="Dictionary{TKey, TValue}"/> does not promise an order).
/// </para>
/// </remarks>
internal sealed class ParameterStates
{
    private readonly Dictionary<Tensor, float[][]> _byParameter = new(ReferenceEqualityComparer.Instance);
    private readonly List<Tensor> _inOrder = [];

    /// <summary>The state of <paramref name="parameter"/>, if it has any. Does not allocate.</summary>
    public bool TryGet(Tensor parameter, [MaybeNullWhen(false)] out float[][] state) =>
        _byParameter.TryGetValue(parameter, out state);

    /// <summary>Records the state of a parameter that has none yet.</summary>
    public void Add(Tensor parameter, float[][] state)
    {
        _byParameter.Add(parameter, state);
        _inOrder.Add(parameter);
    }

    /// <summary>Forgets every parameter's state (and the references to the parameters).</summary>
    public void Clear()
    {
        _byParameter.Clear();
        _inOrder.Clear();
    }

    /// <summary>
    /// Every buffer, parameter by parameter in the order they first received state, each parameter's
    /// buffers in <paramref name="stateNames"/> order; the values are live views.
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// Two parameters with state share a name, or one has none: the state could not be matched to
    /// parameters again. The message names them.
    /// </exception>
    public List<OptimizerStateBuffer> ToBuffers(IReadOnlyList<string> stateNames, string optimizerName)
    {
        var problems = new List<string>();
        int unnamed = 0;
        foreach (Tensor parameter in _inOrder)
            if (string.IsNullOrEmpty(parameter.Name))
                problems.Add($"parameter #{++unnamed} of shape {Shapes.Format(parameter.Shape)} has no name");
        foreach (IGrouping<string, Tensor> group in _inOrder.Where(p => !string.IsNullOrEmpty(p.Name)).GroupBy(p => p.Name!))
            if (group.Count() > 1)
                problems.Add($"{group.Count()} parameters are named \"{group.Key}\" (shapes {string.Join(", ", group.Select(p => Shapes.Format(p.Shape)))})");
        if (problems.Count > 0)
            throw new InvalidOperationException(
                $"Cannot save the {optimizerName} state by parameter name: {string.Join("; ", problems)}. " +
                "Give every trained parameter a unique name (Tensor.AsParameter(name); Sequential names its layers' parameters).");

        var buffers = new List<OptimizerStateBuffer>(_inOrder.Count * stateNames.Count);
        foreach (Tensor parameter in _inOrder)
        {
            float[][] state = _byParameter[parameter];
            for (int k = 0; k < state.Length; k++)
                buffers.Add(new OptimizerStateBuffer(parameter.Name!, stateNames[k], state[k]));
        }
        return buffers;
    }

    /// <summary>One saved buffer matched to its parameter: which parameter, which state, which values.</summary>
    public readonly record struct Match(int ParameterIndex, int StateIndex, ReadOnlyMemory<float> Values);

    /// <summary>
    /// Matches saved <paramref name="buffers"/> to <paramref name="parameters"/> by parameter name and
    /// to <paramref name="stateNames"/> by state name, checking every buffer's length. Returns the matches
    /// ordered by parameter (list order), then state; changes nothing.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// Something does not match; the message lists every problem: a buffer whose parameter is not in the
    /// list, an unknown state name, a length mismatch (expected vs actual), a buffer given twice, or two
    /// parameters sharing a name.
    /// </exception>
    public static List<Match> MatchByName(IEnumerable<OptimizerStateBuffer> buffers, IReadOnlyList<Tensor> parameters,
        IReadOnlyList<string> stateNames, string optimizerName)
    {
        var problems = new List<string>();
        var indexByName = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < parameters.Count; i++)
        {
            Tensor parameter = parameters[i] ?? throw new ArgumentException($"Parameter {i} is null.", nameof(parameters));
            if (string.IsNullOrEmpty(parameter.Name))
                continue; // cannot be matched; it starts from fresh state like any parameter without buffers
            if (!indexByName.TryAdd(parameter.Name, i) && !ReferenceEquals(parameters[indexByName[parameter.Name]], parameter))
                problems.Add($"parameters {indexByName[parameter.Name]} and {i} are both named \"{parameter.Name}\"");
        }

        var matches = new List<Match>();
        var seen = new HashSet<(string, string)>();
        foreach (OptimizerStateBuffer buffer in buffers)
        {
            if (buffer.ParameterName is null || buffer.StateName is null)
            {
                problems.Add("a buffer has no names (default(OptimizerStateBuffer))");
                continue;
            }
            string what = $"buffer \"{buffer.StateName}\" of \"{buffer.ParameterName}\"";
            if (!seen.Add((buffer.ParameterName, buffer.StateName)))
            {
                problems.Add($"{what} is given twice");
                continue;
            }
            int stateIndex = IndexOf(stateNames, buffer.StateName);
            if (stateIndex < 0)
                problems.Add($"{what}: {optimizerName} has no state named \"{buffer.StateName}\" (its states are [{string.Join(", ", stateNames)}])");
            if (!indexByName.TryGetValue(buffer.ParameterName, out int parameterIndex))
            {
                problems.Add($"{what}: no parameter named \"{buffer.ParameterName}\" was given");
                continue;
            }
            int expected = parameters[parameterIndex].Length;
            if (buffer.Values.Length != expected)
                problems.Add($"{what}: expected {expected} values (the parameter's length), got {buffer.Values.Length}");
            else if (stateIndex >= 0)
                matches.Add(new Match(parameterIndex, stateIndex, buffer.Values));
        }
        if (problems.Count > 0)
            throw new ArgumentException($"Cannot load the {optimizerName} state: {string.Join("; ", problems)}.", nameof(buffers));

        matches.Sort((a, b) => a.ParameterIndex != b.ParameterIndex ? a.ParameterIndex.CompareTo(b.ParameterIndex) : a.StateIndex.CompareTo(b.StateIndex));
        return matches;
    }

    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (int i = 0; i < names.Count; i++)
            if (names[i] == name)
                return i;
        return -1;
    }
}
