using NanoNet.Layers;

namespace NanoNet.Persistence;

/// <summary>
/// Builds a model again from an <see cref="ArchitectureDocument"/>: each layer through
/// <see cref="LayerRegistry.Create"/> (custom layers through their registration), then the calls on new
/// <see cref="Input"/>s in the stored order. The weights stay zero and uninitialised; the caller loads them.
/// </summary>
internal static class ArchitectureRebuild
{
    /// <summary>
    /// Rebuilds the model. Weight allocation is limited to <paramref name="weightValues"/> values (what the
    /// file holds), so a lying layer argument fails with a message instead of allocating gigabytes.
    /// </summary>
    /// <exception cref="InvalidDataException">The document is inconsistent or a layer cannot be built; the message names the file.</exception>
    public static Model Build(ArchitectureDocument document, long weightValues, string fileName)
    {
        Model? model = null;
        try
        {
            Layer.WithWeightBudget(weightValues, () => model = BuildModel(document, fileName));
        }
        catch (Exception e) when (e is ArgumentException or InvalidCastException or KeyNotFoundException or InvalidOperationException or OverflowException)
        {
            // Layer constructors and calls check their arguments and shapes: here those came from the file.
            throw new InvalidDataException($"{fileName}: the architecture cannot be rebuilt: {e.Message}", e);
        }
        return model!;
    }

    private static Model BuildModel(ArchitectureDocument document, string fileName)
    {
        InputDocument[] inputs = NoNulls(document.Inputs, "inputs", fileName);
        var layers = new List<Layer>();
        var byName = new Dictionary<string, Layer>(StringComparer.Ordinal);
        foreach (LayerDocument layerDocument in NoNulls(document.Layers, "layers", fileName))
        {
            LayerConfig config = ConfigOf(layerDocument, fileName);
            if (!config.Contains("name") || config["name"] is not string name)
                throw Problem(fileName, $"layer {layers.Count} ({config.TypeName}) has no string argument 'name'");
            Layer layer = LayerRegistry.Create(config);
            if (!byName.TryAdd(name, layer))
                throw Problem(fileName, $"two layers are named '{name}'");
            layers.Add(layer);
        }

        Model model;
        switch (document.Kind)
        {
            case ArchitectureDocument.SequentialKind:
                if (inputs.Length != 1 || document.Nodes is not null || document.Outputs is not null)
                    throw Problem(fileName, "a sequential architecture has exactly one input and no nodes or outputs");
                model = new Sequential(NoNulls(inputs[0].Shape, "input shape", fileName), [.. layers]);
                break;
            case ArchitectureDocument.FunctionalKind:
                model = BuildGraph(document, inputs, byName, fileName);
                break;
            default:
                throw Problem(fileName, $"unknown architecture kind '{document.Kind}' (expected '{ArchitectureDocument.SequentialKind}' or '{ArchitectureDocument.FunctionalKind}')");
        }
        IReadOnlyList<Layer> used = model.Layers; // builds a Sequential's layers, under the weight budget
        foreach (Layer layer in layers)
            if (!used.Contains(layer))
                throw Problem(fileName, $"layer '{layer.Name}' is listed but never called");
        return model;
    }

    private static Model BuildGraph(ArchitectureDocument document, InputDocument[] inputDocuments, Dictionary<string, Layer> layers, string fileName)
    {
        Input[] inputs = [.. inputDocuments.Select(i => new Input(NoNulls(i.Shape, "input shape", fileName), i.Name))];
        NodeDocument[] nodes = NoNulls(document.Nodes ?? throw Problem(fileName, "a functional architecture needs 'nodes'"), "nodes", fileName);
        var values = new IReadOnlyList<SymbolicTensor>[nodes.Length]; // per node, its call's outputs
        for (int n = 0; n < nodes.Length; n++)
        {
            Layer layer = layers.GetValueOrDefault(nodes[n].Layer)
                ?? throw Problem(fileName, $"node {n} calls layer '{nodes[n].Layer}', which is not among the layers");
            SymbolicTensor[] arguments = [.. NoNulls(nodes[n].Inputs, $"node {n} inputs", fileName).Select(r => Resolve(r, $"node {n}", n))];
            values[n] = (layer switch
            {
                MergeLayer merge => merge.Call(arguments),
                _ when arguments.Length == 1 => layer.Call(arguments[0]),
                RecurrentLayer recurrent => recurrent.Call(arguments[0], arguments[1..]), // the input, then its initial state
                Bidirectional bidirectional => bidirectional.Call(arguments[0], arguments[1..]),
                _ => throw Problem(fileName, $"node {n} calls layer '{nodes[n].Layer}' ({layer.GetType().Name}) on {arguments.Length} tensors; it takes one"),
            }).CallOutputs;
        }
        TensorReference[] outputs = NoNulls(document.Outputs ?? throw Problem(fileName, "a functional architecture needs 'outputs'"), "outputs", fileName);
        return new Model(inputs, [.. outputs.Select(r => Resolve(r, "an output", nodes.Length))], document.Name);

        SymbolicTensor Resolve(TensorReference reference, string user, int nodesBefore) => reference switch
        {
            { Input: int i, Node: null, Output: null } when i >= 0 && i < inputs.Length => inputs[i],
            { Input: null, Node: int j, Output: null } when j >= 0 && j < nodesBefore => values[j][0],
            { Input: null, Node: int j, Output: int k } when j >= 0 && j < nodesBefore && k >= 0 && k < values[j].Count => values[j][k],
            _ => throw Problem(fileName, $"{user} refers to {Describe(reference)}, which is not an input or an output of an earlier node ({inputs.Length} inputs, {nodesBefore} earlier nodes)"),
        };
    }

    private static LayerConfig ConfigOf(LayerDocument layer, string fileName)
    {
        var config = new LayerConfig(layer.Type);
        foreach (ArgumentDocument argument in NoNulls(layer.Arguments, $"{layer.Type} arguments", fileName))
        {
            int set = (argument.Int is null ? 0 : 1) + (argument.Float is null ? 0 : 1) + (argument.Bool is null ? 0 : 1)
                + (argument.String is null ? 0 : 1) + (argument.Ints is null ? 0 : 1);
            if (set != 1)
                throw Problem(fileName, $"{layer.Type} argument '{argument.Name}' has {set} values; it needs exactly one of int, float, bool, string, ints");
            if (config.Contains(argument.Name))
                throw Problem(fileName, $"{layer.Type} argument '{argument.Name}' is given twice");
            _ = argument switch
            {
                { Int: int value } => config.Set(argument.Name, value),
                { Float: float value } => config.Set(argument.Name, value),
                { Bool: bool value } => config.Set(argument.Name, value),
                { String: string value } => config.Set(argument.Name, value),
                _ => config.Set(argument.Name, argument.Ints!),
            };
        }
        return config;
    }

    private static T[] NoNulls<T>(T[] items, string what, string fileName)
    {
        if (items is null || Array.IndexOf(items, default) >= 0 && default(T) is null)
            throw Problem(fileName, $"the architecture's {what} contain null");
        return items;
    }

    private static string Describe(TensorReference reference) =>
        $"{{input: {reference.Input?.ToString() ?? "none"}, node: {reference.Node?.ToString() ?? "none"}, output: {reference.Output?.ToString() ?? "none"}}}";

    private static InvalidDataException Problem(string fileName, string problem) => new($"{fileName}: architecture: {problem}.");
}
