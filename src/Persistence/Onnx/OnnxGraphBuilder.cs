namespace NanoNet.Persistence.Onnx;

/// <summary>
/// Collects the nodes and weights of an ONNX graph while a model is walked: hands out unique value
/// names, adds each weight once (a shared layer's weights serve all its calls), converts images
/// between NanoNet's NHWC and ONNX's NCHW with as few Transposes as possible, and at the end drops
/// the nodes no output needs.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    private static readonly long[] ToChannelsFirstPermutation = [0, 3, 1, 2], ToChannelsLastPermutation = [0, 2, 3, 1];

    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly List<OnnxNode> _nodes = [];
    private readonly Dictionary<string, OnnxTensor> _initializers = new(StringComparer.Ordinal);

    // An NHWC value's NCHW twin, when the graph has it: a value that left an NCHW op through a Transpose
    // goes into the next NCHW op (Conv, MaxPool) without transposing back and forth.
    private readonly Dictionary<string, string> _channelsFirstTwins = new(StringComparer.Ordinal);

    /// <summary>Reserves <paramref name="wanted"/> as a value name, or the first free "wanted_1", "wanted_2", ...</summary>
    public string UniqueName(string wanted)
    {
        if (_names.Add(wanted))
            return wanted;
        for (int suffix = 1; ; suffix++)
        {
            string candidate = $"{wanted}_{suffix}";
            if (_names.Add(candidate))
                return candidate;
        }
    }

    /// <summary>A float32 weight named <paramref name="name"/>, added the first time; <paramref name="values"/> is asked for only then.</summary>
    public string Weight(string name, long[] dims, Func<float[]> values)
    {
        if (!_initializers.ContainsKey(name))
        {
            if (!_names.Add(name))
                throw new InvalidOperationException($"ONNX export: the weight name '{name}' is already used by a value of the graph.");
            _initializers[name] = new OnnxTensor(name, dims, values());
        }
        return name;
    }

    /// <summary>A one-dimensional int64 constant (a shape or a list of axes), shared by every node that needs the same values.</summary>
    public string Int64Constant(params long[] values)
    {
        string name = "const_int64_" + string.Join("_", values.Select(v => v < 0 ? $"m{-v}" : v.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        if (!_initializers.ContainsKey(name))
        {
            if (!_names.Add(name))
                throw new InvalidOperationException($"ONNX export: the constant name '{name}' is already used by a value of the graph.");
            _initializers[name] = new OnnxTensor(name, [values.Length], values);
        }
        return name;
    }

    /// <summary>Adds a node with one output, named after <paramref name="wantedOutput"/> (made unique); returns the output's name.</summary>
    public string Node(string opType, string[] inputs, string wantedOutput, params OnnxAttribute[] attributes) =>
        Node(opType, inputs, [wantedOutput], attributes)[0];

    /// <summary>
    /// Adds a node with several outputs; a null wanted name leaves that optional output out (""). Returns
    /// the outputs' names. The node is named after its first output.
    /// </summary>
    public string[] Node(string opType, string[] inputs, string?[] wantedOutputs, params OnnxAttribute[] attributes)
    {
        string[] outputs = [.. wantedOutputs.Select(w => w is null ? "" : UniqueName(w))];
        string nodeName = outputs.First(o => o.Length > 0);
        _nodes.Add(new OnnxNode(opType, nodeName, inputs, outputs, attributes));
        return outputs;
    }

    /// <summary>The NCHW version of an NHWC image value: its twin if the graph has one, else a new Transpose.</summary>
    public string ToChannelsFirst(string channelsLast)
    {
        if (_channelsFirstTwins.TryGetValue(channelsLast, out string? twin))
            return twin;
        twin = Node("Transpose", [channelsLast], channelsLast + "/nchw", OnnxAttribute.Ints("perm", ToChannelsFirstPermutation));
        _channelsFirstTwins[channelsLast] = twin;
        return twin;
    }

    /// <summary>Transposes an NCHW image value back to NHWC and remembers the pair (see <see cref="ToChannelsFirst"/>).</summary>
    public string ToChannelsLast(string channelsFirst, string wantedOutput)
    {
        string channelsLast = Node("Transpose", [channelsFirst], wantedOutput, OnnxAttribute.Ints("perm", ToChannelsLastPermutation));
        _channelsFirstTwins[channelsLast] = channelsFirst;
        return channelsLast;
    }

    /// <summary>
    /// Gives the value <paramref name="value"/> (written by a node of this graph) the reserved name
    /// <paramref name="reservedName"/>, so a layer's output carries the layer's name. Returns false, changing
    /// nothing, when no node writes <paramref name="value"/> (e.g. a graph input passed through), or when a
    /// node already reads it.
    /// </summary>
    public bool TryRename(string value, string reservedName)
    {
        int producer = _nodes.FindIndex(n => n.Outputs.Contains(value));
        if (producer < 0 || _nodes.Any(n => n.Inputs.Contains(value)))
            return false;
        OnnxNode node = _nodes[producer];
        string[] outputs = [.. node.Outputs.Select(o => o == value ? reservedName : o)];
        _nodes[producer] = node with { Name = node.Name == value ? reservedName : node.Name, Outputs = outputs };
        if (_channelsFirstTwins.Remove(value, out string? twin))
            _channelsFirstTwins[reservedName] = twin;
        _names.Remove(value);
        return true;
    }

    /// <summary>
    /// The graph computing <paramref name="outputs"/> from <paramref name="inputs"/>: only the nodes and
    /// weights some output needs (a Transpose whose twin served every reader is dropped here).
    /// </summary>
    public OnnxGraph Build(string name, IReadOnlyList<OnnxValueInfo> inputs, IReadOnlyList<OnnxValueInfo> outputs, string? documentation)
    {
        var needed = new HashSet<string>(outputs.Select(o => o.Name), StringComparer.Ordinal);
        var kept = new List<OnnxNode>();
        for (int i = _nodes.Count - 1; i >= 0; i--)
        {
            OnnxNode node = _nodes[i];
            if (!node.Outputs.Any(needed.Contains))
                continue;
            kept.Add(node);
            foreach (string input in node.Inputs)
                if (input.Length > 0)
                    needed.Add(input);
        }
        kept.Reverse();
        OnnxTensor[] weights = [.. _initializers.Values.Where(t => needed.Contains(t.Name))];
        return new OnnxGraph(name, kept, weights, inputs, outputs, documentation);
    }
}
