using NanoNet.Layers;

namespace NanoNet.Persistence.Onnx;

/// <summary>
/// Turns a compiled <see cref="Model"/> (Sequential or Functional: several inputs and outputs, shared
/// layers, merges) into an ONNX model: walks its graph from the inputs to the outputs, maps each layer
/// call with <see cref="OnnxLayerMappings"/>, and records the inputs' layout in the metadata.
/// </summary>
internal static class OnnxExporter
{
    /// <summary>ONNX IR version 8 (ONNX 1.12, the first to know opset 17).</summary>
    public const long IrVersion = 8;

    /// <summary>The ONNX operator set the graph uses.</summary>
    public const long OpsetVersion = 17;

    /// <summary>The batch axis's name in the inputs' and outputs' shapes.</summary>
    public const string BatchAxis = "N";

    /// <summary>Metadata key saying how the inputs are laid out (e.g. "NHWC").</summary>
    public const string InputLayoutKey = "nanonet.input_layout";

    /// <summary>The ONNX model of <paramref name="model"/>, its weights copied as they are now.</summary>
    /// <exception cref="InvalidOperationException">The model is not compiled (its weights have no values yet).</exception>
    /// <exception cref="NotSupportedException">A layer has no ONNX mapping (the message names it).</exception>
    public static OnnxModel Build(Model model)
    {
        ArgumentNullException.ThrowIfNull(model);
        IReadOnlyList<Input> inputs = model.Inputs;
        IReadOnlyList<SymbolicTensor> outputs = model.Outputs;
        if (model.Layers.FirstOrDefault(l => !l.IsInitialized) is { } uninitialized)
            throw new InvalidOperationException($"Model '{model.Name}' cannot be exported to ONNX before it is compiled: layer '{uninitialized.Name}' has no weights yet.");

        var graph = new OnnxGraphBuilder();
        var values = new Dictionary<SymbolicTensor, string>(ReferenceEqualityComparer.Instance);
        var knownValues = new HashSet<string>(StringComparer.Ordinal);
        foreach (Input input in inputs)
            knownValues.Add(values[input] = graph.UniqueName(input.Name));

        // Which Embedding's padding mask each value carries at run time (null: none), to refuse an LSTM that would use it.
        var maskSources = new Dictionary<SymbolicTensor, Embedding?>(ReferenceEqualityComparer.Instance);
        var calls = new Dictionary<Layer, int>(ReferenceEqualityComparer.Instance);
        foreach (SymbolicTensor tensor in InRunOrder(outputs)) // each call once, by its first output
        {
            Layer layer = tensor.Layer!;
            Embedding? mask = tensor.Inputs.Select(i => maskSources.GetValueOrDefault(i)).FirstOrDefault(m => m is not null);
            if (layer is MultiHeadAttention && mask is not null)
                throw new NotSupportedException(
                    $"Layer '{layer.Name}' (MultiHeadAttention) reads the padding mask of layer '{mask.Name}' (Embedding with maskZero: true); " +
                    "the export does not carry padding masks into the attention. Build the Embedding with maskZero: false (or pass an attention mask input) to export.");
            if (layer is RecurrentLayer or Bidirectional && mask is not null)
                throw new NotSupportedException(
                    $"Layer '{layer.Name}' ({layer.GetType().Name}) reads the padding mask of layer '{mask.Name}' (Embedding with maskZero: true) and skips padded steps; " +
                    "ONNX's recurrent ops cannot skip steps, so this model cannot be exported. Build the Embedding with maskZero: false to export.");
            maskSources[tensor] = MaskCarried(tensor, mask);

            int call = calls.GetValueOrDefault(layer);
            calls[layer] = call + 1;
            string wanted = call == 0 ? layer.Name : $"{layer.Name}/call_{call + 1}";
            string[] inputNames = [.. tensor.Inputs.Select(i => values[i])];
            IReadOnlyList<SymbolicTensor> callOutputs = tensor.CallOutputs;
            // Recurrent calls may take initial states and return final states: mapped with all their inputs and outputs.
            string[] results = layer is RecurrentLayer or Bidirectional
                ? OnnxLayerMappings.MapRecurrentCall(graph, layer, inputNames, wanted, callOutputs.Count)
                : [OnnxLayerMappings.Map(graph, layer, inputNames, wanted)];
            for (int o = 0; o < callOutputs.Count; o++)
            {
                string result = results[o], wantedName = o == 0 ? wanted : $"{wanted}/{layer.OutputName(o)}";
                if (knownValues.Contains(result))
                    result = graph.Node("Identity", [result], wantedName);
                else if (result != wantedName && graph.UniqueName(wantedName) is var name && graph.TryRename(result, name))
                    result = name;
                knownValues.Add(values[callOutputs[o]] = result);
                if (o > 0)
                    maskSources[callOutputs[o]] = null; // a state carries no steps, so no mask
            }
        }

        var graphOutputs = new List<OnnxValueInfo>();
        var usedAsOutput = new HashSet<string>(StringComparer.Ordinal);
        foreach (SymbolicTensor output in outputs)
        {
            string name = values[output];
            if (output is Input || !usedAsOutput.Add(name)) // an ONNX output must be written by a node, and be listed once
                usedAsOutput.Add(name = graph.Node("Identity", [name], name + "/output"));
            graphOutputs.Add(ValueInfo(name, output.Shape, null));
        }

        string[] layouts = [.. inputs.Select(i => LayoutOf(i, outputs))];
        OnnxValueInfo[] graphInputs = [.. inputs.Select((input, i) => ValueInfo(values[input], input.Shape, $"float32 {layouts[i]}"))];
        string inputLayout = inputs.Count == 1 ? layouts[0] : string.Join("; ", inputs.Select((input, i) => $"{values[input]}: {layouts[i]}"));
        string documentation =
            $"NanoNet model '{model.Name}'. Inputs and outputs are in NanoNet's layout, batch first and channels last " +
            $"(images NHWC, token ids as float32); the batch axis is '{BatchAxis}'.";
        return new OnnxModel(IrVersion, OpsetVersion, "NanoNet", ProducerVersion(), documentation,
            graph.Build(model.Name, graphInputs, graphOutputs, documentation),
            [
                new(InputLayoutKey, inputLayout),
                new("nanonet.model_name", model.Name),
                new("nanonet.layers", string.Join(", ", model.Layers.Select(l => $"{l.Name} ({l.GetType().Name})"))),
            ]);
    }

    /// <summary>
    /// Every layer call the outputs depend on, each after the calls it reads (depth first, as Model orders them), each
    /// once, stood for by its first output (a call with several outputs, e.g. an LSTM with return_state, runs once).
    /// </summary>
    private static List<SymbolicTensor> InRunOrder(IReadOnlyList<SymbolicTensor> outputs)
    {
        var order = new List<SymbolicTensor>();
        var seen = new HashSet<SymbolicTensor>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(SymbolicTensor Tensor, bool InputsDone)>();
        foreach (SymbolicTensor output in outputs)
            stack.Push((output.FirstOfCall, false));
        while (stack.Count > 0)
        {
            (SymbolicTensor tensor, bool inputsDone) = stack.Pop();
            if (tensor is Input || (!inputsDone && seen.Contains(tensor)))
                continue;
            if (inputsDone)
            {
                order.Add(tensor);
                continue;
            }
            seen.Add(tensor);
            stack.Push((tensor, true));
            for (int i = tensor.Inputs.Count - 1; i >= 0; i--)
                stack.Push((tensor.Inputs[i].FirstOfCall, false));
        }
        return order;
    }

    /// <summary>The padding mask a call's output carries, following NanoNet's rules (Layer.Forward, MergeLayer, Embedding, the recurrent layers).</summary>
    private static Embedding? MaskCarried(SymbolicTensor tensor, Embedding? inputMask) => tensor.Layer switch
    {
        Embedding { MaskZero: true } embedding when tensor.Inputs[0].Shape.Length == 1 => embedding,
        MergeLayer => inputMask,
        RecurrentLayer { ReturnSequences: true } => inputMask,
        Bidirectional { ReturnSequences: true } => inputMask,
        { SupportsMasking: true } => inputMask,
        _ => null,
    };

    /// <summary>How an input is laid out: "NHWC" for images, "NT" token ids for an Embedding, else "NC" / "NTC" / "N...".</summary>
    private static string LayoutOf(Input input, IReadOnlyList<SymbolicTensor> outputs)
    {
        var readers = new HashSet<Layer>(ReferenceEqualityComparer.Instance);
        foreach (SymbolicTensor tensor in InRunOrder(outputs))
            if (tensor.Inputs.Any(i => ReferenceEquals(i, input)))
                readers.Add(tensor.Layer!);
        int rank = input.Shape.Length;
        if (rank == 1 && readers.Any(r => r is Embedding))
            return "NT (token ids as float32, whole numbers)";
        return rank switch
        {
            1 => "NC",
            2 => "NTC",
            3 => "NHWC",
            _ => "N" + new string('.', rank),
        };
    }

    private static OnnxValueInfo ValueInfo(string name, ReadOnlySpan<int> shape, string? documentation)
    {
        var dimensions = new OnnxDimension[shape.Length + 1];
        dimensions[0] = new OnnxDimension(null, BatchAxis);
        for (int d = 0; d < shape.Length; d++)
            dimensions[d + 1] = new OnnxDimension(shape[d], null);
        return new OnnxValueInfo(name, OnnxElementType.Float, dimensions, documentation);
    }

    private static string ProducerVersion() => typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "0.0.0";
}
