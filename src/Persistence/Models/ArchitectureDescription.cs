using NanoNet.Layers;

namespace NanoNet.Persistence;

/// <summary>Describes a model's architecture as an <see cref="ArchitectureDocument"/>: inputs, layer configs, the calls in run order, outputs.</summary>
internal static class ArchitectureDescription
{
    /// <summary>The document of <paramref name="model"/> (a <see cref="Sequential"/> keeps its kind and loads back as one).</summary>
    public static ArchitectureDocument Of(Model model)
    {
        LayerDocument[] layers = [.. model.Layers.Select(l => Describe(l.GetConfig()))];
        if (model is Sequential sequential)
            return new ArchitectureDocument(ArchitectureDocument.SequentialKind, model.Name,
                [new InputDocument(model.Inputs[0].Name, sequential.InputShape.ToArray())], layers);

        var inputs = model.Inputs;
        var references = new Dictionary<SymbolicTensor, TensorReference>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < inputs.Count; i++)
            references[inputs[i]] = new TensorReference(Input: i);
        var nodes = new List<NodeDocument>();
        // The same depth-first order the model runs its calls in: inputs of a call before the call.
        void Visit(SymbolicTensor tensor)
        {
            if (references.ContainsKey(tensor))
                return;
            SymbolicTensor call = tensor.FirstOfCall; // one node per call, whichever of its outputs is used
            foreach (SymbolicTensor input in call.Inputs)
                Visit(input);
            nodes.Add(new NodeDocument(call.Layer!.Name, [.. call.Inputs.Select(i => references[i])]));
            foreach (SymbolicTensor output in call.CallOutputs)
                references[output] = new TensorReference(Node: nodes.Count - 1, Output: output.OutputIndex == 0 ? null : output.OutputIndex);
        }
        foreach (SymbolicTensor output in model.Outputs)
            Visit(output);
        return new ArchitectureDocument(ArchitectureDocument.FunctionalKind, model.Name,
            [.. inputs.Select(i => new InputDocument(i.Name, i.Shape.ToArray()))], layers,
            [.. nodes], [.. model.Outputs.Select(o => references[o])]);
    }

    private static LayerDocument Describe(LayerConfig config) =>
        new(config.TypeName, [.. config.Keys.Select(key => config[key] switch
        {
            int value => new ArgumentDocument(key, Int: value),
            float value => new ArgumentDocument(key, Float: value),
            bool value => new ArgumentDocument(key, Bool: value),
            string value => new ArgumentDocument(key, String: value),
            int[] value => new ArgumentDocument(key, Ints: value),
            object value => throw new InvalidOperationException($"{config.TypeName} config argument '{key}' is a {value.GetType().Name}; configs hold int, float, bool, string and int[]."),
        })]);
}
