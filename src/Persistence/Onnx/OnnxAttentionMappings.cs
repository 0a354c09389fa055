using NanoNet.Layers;

namespace NanoNet.Persistence.Onnx;

/// <summary>MultiHeadAttention as a subgraph of MatMul, Add, Reshape, Transpose, Mul, Where and Softmax (opset 17 has no attention operator).</summary>
internal static partial class OnnxLayerMappings
{
    /// <summary>
    /// The projections are MatMuls with the Keras kernels viewed as (D, H·S) (the same bytes), reshaped to
    /// (N, T, H, S) and transposed per head; scores = (Q/√K)·Kᵀ (N, H, Tq, Tv), masked pairs replaced by −10⁹
    /// (Where on the attention mask input and the causal mask), Softmax over the keys, ·V, heads back side by
    /// side (N, Tq, H·V) and the output MatMul (H·V, O).
    /// </summary>
    private static string MapMultiHeadAttention(OnnxGraphBuilder graph, MultiHeadAttention layer, string[] inputs, string output)
    {
        IReadOnlyList<int[]> shapes = layer.InputShapes;
        int heads = layer.NumHeads, tq = shapes[0][0], tv = shapes[1][0], outputs = layer.OutputKernel.Dim(2);
        string name = layer.Name;
        string query = Heads(graph, layer, inputs[0], "query", layer.QueryKernel, layer.QueryBias, tq, layer.KeyDim, [0, 2, 1, 3], output);
        string scaled = graph.Node("Mul", [query, FloatScalar(graph, $"inv_sqrt_{layer.KeyDim}", 1f / MathF.Sqrt(layer.KeyDim))], $"{output}/query_scaled");
        string keysTransposed = Heads(graph, layer, inputs.Length > 2 ? inputs[2] : inputs[1], "key", layer.KeyKernel, layer.KeyBias, tv, layer.KeyDim, [0, 2, 3, 1], output);
        string values = Heads(graph, layer, inputs[1], "value", layer.ValueKernel, layer.ValueBias, tv, layer.ValueDim, [0, 2, 1, 3], output);
        string scores = graph.Node("MatMul", [scaled, keysTransposed], $"{output}/scores");

        string? mask = inputs.Length == 4 ? graph.Node("Unsqueeze", [inputs[3], graph.Int64Constant(1)], $"{output}/attention_mask") : null;
        if (layer.UseCausalMask)
        {
            string causal = graph.Weight($"{name}/causal_mask", [tq, tv], () => layer.CausalMask!.Span.ToArray());
            mask = mask is null ? causal : graph.Node("Mul", [mask, causal], $"{output}/mask");
        }
        if (mask is not null)
        {
            string keep = graph.Node("Cast", [mask], $"{output}/keep", OnnxAttribute.Int("to", (long)OnnxElementType.Bool));
            scores = graph.Node("Where", [keep, scores, FloatScalar(graph, "attention_masked_score", -1e9f)], $"{output}/masked_scores");
        }
        string probabilities = graph.Node("Softmax", [scores], $"{output}/probabilities", OnnxAttribute.Int("axis", -1));
        string context = graph.Node("MatMul", [probabilities, values], $"{output}/context");
        string sideBySide = graph.Node("Reshape",
            [graph.Node("Transpose", [context], $"{output}/context_by_step", OnnxAttribute.Ints("perm", 0, 2, 1, 3)), graph.Int64Constant(0, tq, heads * layer.ValueDim)],
            $"{output}/context_rows");
        string kernel = graph.Weight($"{name}/attention_output/kernel", [heads * layer.ValueDim, outputs], () => layer.OutputKernel.Span.ToArray());
        if (layer.OutputBias is not { } bias)
            return graph.Node("MatMul", [sideBySide, kernel], output);
        string product = graph.Node("MatMul", [sideBySide, kernel], $"{output}/output_matmul");
        return graph.Node("Add", [product, graph.Weight($"{name}/attention_output/bias", Dims(bias), () => bias.Span.ToArray())], output);
    }

    /// <summary>x (N, T, D)·W (D, H·S) + b, reshaped to (N, T, H, S) and transposed by <paramref name="perm"/>.</summary>
    private static string Heads(OnnxGraphBuilder graph, MultiHeadAttention layer, string x, string projection, Tensor kernel, Tensor? bias,
        int steps, int size, long[] perm, string output)
    {
        int features = kernel.Dim(0), heads = layer.NumHeads;
        string w = graph.Weight($"{layer.Name}/{projection}/kernel", [features, heads * size], () => kernel.Span.ToArray());
        string projected = graph.Node("MatMul", [x, w], $"{output}/{projection}_matmul");
        if (bias is not null)
            projected = graph.Node("Add", [projected, graph.Weight($"{layer.Name}/{projection}/bias", [heads * size], () => bias.Span.ToArray())], $"{output}/{projection}_add");
        string split = graph.Node("Reshape", [projected, graph.Int64Constant(0, steps, heads, size)], $"{output}/{projection}_heads");
        return graph.Node("Transpose", [split], $"{output}/{projection}_by_head", OnnxAttribute.Ints("perm", perm));
    }
}
