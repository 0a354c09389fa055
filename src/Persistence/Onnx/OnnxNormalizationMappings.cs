using NanoNet.Layers;

namespace NanoNet.Persistence.Onnx;

/// <summary>BatchNormalization and LayerNormalization as ONNX's own operators (both in opset 17).</summary>
internal static partial class OnnxLayerMappings
{
    /// <summary>
    /// ONNX's BatchNormalization (inference: the moving statistics) wants the channels on axis 1: an NHWC
    /// image goes through its NCHW twin (free after a Conv2D, see <see cref="OnnxGraphBuilder.ToChannelsFirst"/>),
    /// other layouts are transposed there and back; (N, C) needs nothing. A missing γ or β is written as ones or zeros.
    /// </summary>
    private static string MapBatchNormalization(OnnxGraphBuilder graph, BatchNormalization layer, string x, string output)
    {
        int rank = layer.InputShape.Length + 1, axis = layer.SampleAxis + 1, channels = layer.InputShape[layer.SampleAxis];
        string[] parameters =
        [
            layer.Gamma is { } gamma ? graph.Weight($"{layer.Name}/gamma", Dims(gamma), () => gamma.Span.ToArray()) : Filled(graph, $"{layer.Name}/gamma_ones", channels, 1f),
            layer.Beta is { } beta ? graph.Weight($"{layer.Name}/beta", Dims(beta), () => beta.Span.ToArray()) : Filled(graph, $"{layer.Name}/beta_zeros", channels, 0f),
            graph.Weight($"{layer.Name}/moving_mean", Dims(layer.MovingMean), () => layer.MovingMean.Span.ToArray()),
            graph.Weight($"{layer.Name}/moving_variance", Dims(layer.MovingVariance), () => layer.MovingVariance.Span.ToArray()),
        ];
        OnnxAttribute[] attributes = [OnnxAttribute.Float("epsilon", layer.Epsilon), OnnxAttribute.Float("momentum", layer.Momentum)];
        if (axis == 1)
            return graph.Node("BatchNormalization", [x, .. parameters], output, attributes);
        if (rank == 4 && axis == 3)
            return graph.ToChannelsLast(graph.Node("BatchNormalization", [graph.ToChannelsFirst(x), .. parameters], $"{output}/nchw", attributes), output);
        long[] toFront = [0, axis, .. Enumerable.Range(1, rank - 1).Where(a => a != axis).Select(a => (long)a)];
        long[] back = new long[rank];
        for (int k = 0; k < rank; k++)
            back[toFront[k]] = k;
        string front = graph.Node("Transpose", [x], $"{output}/channels_first", OnnxAttribute.Ints("perm", toFront));
        string normalized = graph.Node("BatchNormalization", [front, .. parameters], $"{output}/normalized", attributes);
        return graph.Node("Transpose", [normalized], output, OnnxAttribute.Ints("perm", back));
    }

    /// <summary>ONNX's LayerNormalization over the last axis (axis −1), Scale γ and bias β (ones and zeros when absent).</summary>
    private static string MapLayerNormalization(OnnxGraphBuilder graph, LayerNormalization layer, string x, string output)
    {
        int features = layer.InputShape[^1];
        string scale = layer.Gamma is { } gamma ? graph.Weight($"{layer.Name}/gamma", Dims(gamma), () => gamma.Span.ToArray()) : Filled(graph, $"{layer.Name}/gamma_ones", features, 1f);
        string bias = layer.Beta is { } beta ? graph.Weight($"{layer.Name}/beta", Dims(beta), () => beta.Span.ToArray()) : Filled(graph, $"{layer.Name}/beta_zeros", features, 0f);
        return graph.Node("LayerNormalization", [x, scale, bias], output, OnnxAttribute.Int("axis", -1), OnnxAttribute.Float("epsilon", layer.Epsilon));
    }

    /// <summary>A float32 vector of <paramref name="length"/> copies of <paramref name="value"/>.</summary>
    private static string Filled(OnnxGraphBuilder graph, string name, int length, float value) =>
        graph.Weight(name, [length], () => Enumerable.Repeat(value, length).ToArray());
}
