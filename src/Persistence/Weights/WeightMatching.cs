using NanoNet.Layers;

namespace NanoNet.Persistence;

/// <summary>
/// Puts the tensors of a safetensors file into a model's weights, matched by name: checks every name,
/// dtype and shape first and reports all differences in one message, and changes nothing unless all match.
/// </summary>
internal static class WeightMatching
{
    /// <summary>Copies the file's tensors into <paramref name="model"/>'s weights and marks every layer initialised.</summary>
    /// <param name="model">The model whose weights are replaced.</param>
    /// <param name="file">The file read.</param>
    /// <param name="prefix">Only the file's tensors named <c>{prefix}{weight name}</c> are weights (a checkpoint's are <c>model/…</c>).</param>
    /// <exception cref="InvalidDataException">Names, dtypes or shapes differ; the message lists every difference.</exception>
    public static void Apply(Model model, SafeTensorsFile file, string prefix = "")
    {
        IReadOnlyList<Tensor> weights = model.Weights;
        var problems = new List<string>();
        var expectedNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (Tensor weight in weights)
        {
            string name = weight.Name ?? throw new InvalidOperationException($"Model '{model.Name}' has a weight without a name.");
            expectedNames.Add(name);
            SafeTensor? stored = file.Find(prefix + name);
            if (stored is null)
                problems.Add($"missing '{name}' {Shapes.Format(weight.Shape)}");
            else if (!stored.HasFloat32Values)
                problems.Add($"'{name}' is stored as {stored.DType}, which does not convert to float32 (F32, F16 and BF16 do)");
            else if (!stored.Shape.SequenceEqual(weight.Shape))
                problems.Add($"'{name}' has shape {Shapes.Format(stored.Shape)} in the file, the model expects {Shapes.Format(weight.Shape)}");
        }
        foreach (SafeTensor stored in file.Tensors)
            if (stored.Name.StartsWith(prefix, StringComparison.Ordinal) && !expectedNames.Contains(stored.Name[prefix.Length..]))
                problems.Add($"unexpected '{stored.Name}' {stored.DType} {Shapes.Format(stored.Shape)}");
        if (problems.Count > 0)
            throw new InvalidDataException(
                $"{file.FileName}: the weights do not fit model '{model.Name}' ({problems.Count} problem{(problems.Count == 1 ? "" : "s")}): {string.Join("; ", problems)}.");

        foreach (Tensor weight in weights)
            file.Find(prefix + weight.Name!)!.Values.CopyTo(weight.Span);
        foreach (Layer layer in model.Layers)
            layer.MarkInitialized();
    }

    /// <summary>The model's weights by name, in layer order (what a weights file holds).</summary>
    public static List<KeyValuePair<string, Tensor>> Named(Model model)
    {
        foreach (Layer layer in model.Layers)
            if (!layer.IsInitialized)
                throw new InvalidOperationException($"Model '{model.Name}': layer '{layer.Name}' has no weights yet; compile the model (or load weights) before saving it.");
        return [.. model.Weights.Select(w => new KeyValuePair<string, Tensor>(w.Name!, w))];
    }
}
