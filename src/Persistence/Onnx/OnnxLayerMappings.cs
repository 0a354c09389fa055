using NanoNet.Kernels;
using NanoNet.Layers;

namespace NanoNet.Persistence.Onnx;

/// <summary>
/// How each NanoNet layer becomes ONNX operators (opset 17). Values keep NanoNet's layout between
/// layers — batch first, channels last (NHWC images, (N, T, F) sequences) — so the exported model takes
/// and returns exactly what <see cref="Model.Predict(Tensor, int)"/> does; ops that need another layout
/// (Conv and MaxPool: NCHW; LSTM: time-major) transpose around themselves.
/// </summary>
/// <remarks>
/// Weights are written in the layout the ONNX op expects, converted at export: a Conv2D kernel from
/// Keras's HWIO (KH, KW, C, F) to OIHW (F, C, KH, KW); an LSTM's kernels transposed, with the gates
/// reordered from Keras's i, f, c, o to ONNX's i, o, f, c. Dense kernels are used as they are (MatMul
/// takes x·W with W of shape (inputs, units)).
/// </remarks>
internal static class OnnxLayerMappings
{
    /// <summary>ONNX's LSTM gate blocks i, o, f, c, each as the index of the same gate in Keras's i, f, c, o.</summary>
    private static readonly int[] OnnxGateToKerasGate = [0, 3, 1, 2];

    /// <summary>
    /// Adds the nodes of one call of <paramref name="layer"/> on the values <paramref name="inputs"/> and
    /// returns the name of the value holding its output (in NanoNet's layout).
    /// </summary>
    /// <param name="graph">The graph being built.</param>
    /// <param name="layer">The layer called.</param>
    /// <param name="inputs">The call's input values (several for merge layers).</param>
    /// <param name="output">The name the output should have; intermediate values are named after it.</param>
    /// <exception cref="NotSupportedException">The layer has no ONNX mapping (a custom layer, or a stateful LSTM).</exception>
    public static string Map(OnnxGraphBuilder graph, Layer layer, string[] inputs, string output) => layer switch
    {
        Dense dense => MapDense(graph, dense, inputs[0], output),
        Conv2D conv => MapConv2D(graph, conv, inputs[0], output),
        MaxPool2D pool => MapMaxPool2D(graph, pool, inputs[0], output),
        Flatten => graph.Node("Reshape", [inputs[0], graph.Int64Constant(0, -1)], output),
        GlobalAveragePooling2D => graph.Node("ReduceMean", [inputs[0]], output, OnnxAttribute.Ints("axes", 1, 2), OnnxAttribute.Int("keepdims", 0)),
        GlobalMaxPooling2D => graph.Node("ReduceMax", [inputs[0]], output, OnnxAttribute.Ints("axes", 1, 2), OnnxAttribute.Int("keepdims", 0)),
        GlobalAveragePooling1D => graph.Node("ReduceMean", [inputs[0]], output, OnnxAttribute.Ints("axes", 1), OnnxAttribute.Int("keepdims", 0)),
        GlobalMaxPooling1D => graph.Node("ReduceMax", [inputs[0]], output, OnnxAttribute.Ints("axes", 1), OnnxAttribute.Int("keepdims", 0)),
        Reshape reshape => graph.Node("Reshape", [inputs[0], graph.Int64Constant([0, .. reshape.OutputShape.ToArray().Select(d => (long)d)])], output),
        Permute permute => graph.Node("Transpose", [inputs[0]], output, OnnxAttribute.Ints("perm", [0, .. permute.Dims.ToArray().Select(d => (long)d)])),
        RepeatVector repeat => graph.Node("Expand",
            [graph.Node("Unsqueeze", [inputs[0], graph.Int64Constant(1)], $"{output}/unsqueezed"), graph.Int64Constant(1, repeat.Count, 1)], output),
        Dropout => graph.Node("Identity", [inputs[0]], output), // inference: the input unchanged
        Activation { Function: ActivationFunction.Linear } => graph.Node("Identity", [inputs[0]], output),
        Activation activation => Activate(graph, inputs[0], activation.Function, output),
        LeakyRelu leaky => graph.Node("LeakyRelu", [inputs[0]], output, OnnxAttribute.Float("alpha", leaky.NegativeSlope)),
        Elu elu => graph.Node("Elu", [inputs[0]], output, OnnxAttribute.Float("alpha", elu.Alpha)),
        Softmax softmax => graph.Node("Softmax", [inputs[0]], output, OnnxAttribute.Int("axis", softmax.Axis)),
        Embedding embedding => MapEmbedding(graph, embedding, inputs[0], output),
        Lstm lstm => MapLstm(graph, lstm, inputs[0], output),
        Add => Chain(graph, "Add", inputs, output),
        Subtract => graph.Node("Sub", [inputs[0], inputs[1]], output),
        Multiply => Chain(graph, "Mul", inputs, output),
        Concatenate concatenate => graph.Node("Concat", inputs, output,
            OnnxAttribute.Int("axis", ConcatenationAxis(concatenate))),
        _ => throw new NotSupportedException(
            $"Layer '{layer.Name}' ({layer.GetType().Name}) has no ONNX mapping: ONNX export knows Dense, Conv2D, MaxPool2D, Flatten, " +
            "GlobalAveragePooling2D, GlobalMaxPooling2D, GlobalAveragePooling1D, GlobalMaxPooling1D, Reshape, Permute, RepeatVector, Activation, LeakyRelu, Elu, Softmax, Dropout, Embedding, Lstm, Add, Subtract, Multiply and Concatenate."),
    };

    /// <summary>MatMul with the (inputs, units) kernel on the last axis (any rank: (N, F), (N, T, F), ...), Add the bias, then the activation.</summary>
    private static string MapDense(OnnxGraphBuilder graph, Dense dense, string x, string output)
    {
        string kernel = graph.Weight($"{dense.Name}/kernel", Dims(dense.Kernel), () => dense.Kernel.Span.ToArray());
        string bias = graph.Weight($"{dense.Name}/bias", Dims(dense.Bias), () => dense.Bias.Span.ToArray());
        string product = graph.Node("MatMul", [x, kernel], $"{output}/matmul");
        string sum = graph.Node("Add", [product, bias], $"{output}/add");
        return Activate(graph, sum, dense.Activation, output);
    }

    /// <summary>
    /// NHWC → Transpose → Conv (OIHW kernel, explicit pads) → element-wise activation → Transpose → NHWC;
    /// a softmax (over the channels, NanoNet's last axis) comes after the transpose back.
    /// </summary>
    private static string MapConv2D(OnnxGraphBuilder graph, Conv2D conv, string x, string output)
    {
        int height = conv.InputShape[0], width = conv.InputShape[1], channels = conv.InputShape[2];
        ConvGeometry geometry = ConvGeometry.Create(height, width, channels, conv.KernelSize, conv.KernelSize, conv.Stride, conv.Stride, conv.SamePadding);
        string kernel = graph.Weight($"{conv.Name}/kernel_oihw", [conv.Filters, channels, conv.KernelSize, conv.KernelSize],
            () => HwioToOihw(conv.Kernel.Span, conv.KernelSize, conv.KernelSize, channels, conv.Filters));
        string bias = graph.Weight($"{conv.Name}/bias", Dims(conv.Bias), () => conv.Bias.Span.ToArray());
        string convolved = graph.Node("Conv", [graph.ToChannelsFirst(x), kernel, bias], $"{output}/conv_nchw",
            OnnxAttribute.Ints("kernel_shape", conv.KernelSize, conv.KernelSize),
            OnnxAttribute.Ints("strides", conv.Stride, conv.Stride),
            OnnxAttribute.Ints("pads", Pads(geometry)));
        return ChannelsLastWithActivation(graph, convolved, conv.Activation, output);
    }

    /// <summary>NHWC → Transpose → MaxPool (explicit pads, which never win: ONNX pads max pooling with −∞ as NanoNet skips them) → Transpose → NHWC.</summary>
    private static string MapMaxPool2D(OnnxGraphBuilder graph, MaxPool2D pool, string x, string output)
    {
        ReadOnlySpan<int> input = pool.InputShape;
        ConvGeometry geometry = ConvGeometry.Create(input[0], input[1], input[2], pool.PoolSize, pool.PoolSize, pool.Stride, pool.Stride, pool.SamePadding);
        string pooled = graph.Node("MaxPool", [graph.ToChannelsFirst(x)], $"{output}/pool_nchw",
            OnnxAttribute.Ints("kernel_shape", pool.PoolSize, pool.PoolSize),
            OnnxAttribute.Ints("strides", pool.Stride, pool.Stride),
            OnnxAttribute.Ints("pads", Pads(geometry)));
        return graph.ToChannelsLast(pooled, output);
    }

    /// <summary>Cast the float ids to int64, then Gather rows of the (vocabulary, dim) table.</summary>
    private static string MapEmbedding(OnnxGraphBuilder graph, Embedding embedding, string ids, string output)
    {
        string table = graph.Weight($"{embedding.Name}/embeddings", Dims(embedding.Table), () => embedding.Table.Span.ToArray());
        string indices = graph.Node("Cast", [ids], $"{output}/ids_int64", OnnxAttribute.Int("to", (long)OnnxElementType.Int64));
        return graph.Node("Gather", [table, indices], output, OnnxAttribute.Int("axis", 0));
    }

    /// <summary>
    /// (N, T, D) → Transpose → time-major LSTM (ONNX's default layout; ONNX Runtime does not run layout=1)
    /// → every step's Y (T, 1, N, H) squeezed and transposed back to (N, T, H), or the last Y_h (1, N, H)
    /// squeezed to (N, H).
    /// </summary>
    private static string MapLstm(OnnxGraphBuilder graph, Lstm lstm, string x, string output)
    {
        if (lstm.Stateful)
            throw new NotSupportedException(
                $"Layer '{lstm.Name}' (Lstm) is stateful: it carries its state from one batch to the next, which an ONNX model (a function of its inputs) cannot express. Export a copy of the model built with stateful: false.");
        int units = lstm.Units, features = lstm.InputShape[1], gates = 4 * units;
        string w = graph.Weight($"{lstm.Name}/W_iofc", [1, gates, features], () => OnnxLstmKernel(lstm.Kernel.Span, features, units));
        string r = graph.Weight($"{lstm.Name}/R_iofc", [1, gates, units], () => OnnxLstmKernel(lstm.RecurrentKernel.Span, units, units));
        string b = graph.Weight($"{lstm.Name}/B_iofc", [1, 2 * gates], () => OnnxLstmBias(lstm.Bias.Span, units));
        string timeMajor = graph.Node("Transpose", [x], $"{output}/time_major", OnnxAttribute.Ints("perm", 1, 0, 2));
        string[] results = graph.Node("LSTM", [timeMajor, w, r, b],
            lstm.ReturnSequences ? [$"{output}/Y", null] : [null, $"{output}/Y_h"],
            OnnxAttribute.Int("hidden_size", units));
        if (!lstm.ReturnSequences)
            return graph.Node("Squeeze", [results[1], graph.Int64Constant(0)], output);
        string steps = graph.Node("Squeeze", [results[0], graph.Int64Constant(1)], $"{output}/steps_time_major");
        return graph.Node("Transpose", [steps], output, OnnxAttribute.Ints("perm", 1, 0, 2));
    }

    /// <summary>An activation over NanoNet's last axis (Softmax with axis −1); linear adds nothing.</summary>
    private static string Activate(OnnxGraphBuilder graph, string x, ActivationFunction function, string output) => function switch
    {
        ActivationFunction.Linear => x,
        ActivationFunction.Relu => graph.Node("Relu", [x], output),
        ActivationFunction.Sigmoid => graph.Node("Sigmoid", [x], output),
        ActivationFunction.Tanh => graph.Node("Tanh", [x], output),
        ActivationFunction.Softmax => graph.Node("Softmax", [x], output, OnnxAttribute.Int("axis", -1)),
        ActivationFunction.LeakyRelu => graph.Node("LeakyRelu", [x], output, OnnxAttribute.Float("alpha", ActivationKernels.LeakySlope)),
        ActivationFunction.Elu => graph.Node("Elu", [x], output, OnnxAttribute.Float("alpha", 1f)),
        ActivationFunction.Selu => graph.Node("Selu", [x], output,
            OnnxAttribute.Float("alpha", ActivationKernels.SeluAlpha), OnnxAttribute.Float("gamma", ActivationKernels.SeluScale)),
        ActivationFunction.Gelu => Gelu(graph, x, output),
        ActivationFunction.Silu => graph.Node("Mul", [x, graph.Node("Sigmoid", [x], $"{output}/sigmoid")], output),
        ActivationFunction.Softplus => graph.Node("Softplus", [x], output),
        ActivationFunction.Softsign => graph.Node("Softsign", [x], output),
        ActivationFunction.HardSigmoid => graph.Node("HardSigmoid", [x], output,
            OnnxAttribute.Float("alpha", 1f / 6f), OnnxAttribute.Float("beta", 0.5f)),
        _ => throw new NotSupportedException($"Activation {function} has no ONNX mapping."),
    };

    /// <summary>
    /// GELU's erf form, ½·x·(1 + Erf(x/√2)), from Mul, Erf and Add: the Gelu operator needs opset 20 and the
    /// export writes opset 17.
    /// </summary>
    private static string Gelu(OnnxGraphBuilder graph, string x, string output)
    {
        string scaled = graph.Node("Mul", [x, FloatScalar(graph, "inv_sqrt2", 0.70710678118654752f)], $"{output}/x_over_sqrt2");
        string erf = graph.Node("Erf", [scaled], $"{output}/erf");
        string onePlus = graph.Node("Add", [erf, FloatScalar(graph, "one", 1f)], $"{output}/one_plus_erf");
        string product = graph.Node("Mul", [x, onePlus], $"{output}/x_times");
        return graph.Node("Mul", [product, FloatScalar(graph, "half", 0.5f)], output);
    }

    /// <summary>A float32 scalar constant, shared by every node that uses it.</summary>
    private static string FloatScalar(OnnxGraphBuilder graph, string name, float value) =>
        graph.Weight($"const_float_{name}", [], () => [value]);

    /// <summary>
    /// Back from NCHW to NHWC with the activation: element-wise ones are applied before the Transpose
    /// (so the NCHW twin stays usable by a following MaxPool), softmax after it (it runs over the channels).
    /// </summary>
    private static string ChannelsLastWithActivation(OnnxGraphBuilder graph, string channelsFirst, ActivationFunction function, string output)
    {
        if (function == ActivationFunction.Softmax)
            return Activate(graph, graph.ToChannelsLast(channelsFirst, $"{output}/nhwc"), function, output);
        if (function != ActivationFunction.Linear)
            channelsFirst = Activate(graph, channelsFirst, function, $"{output}/{ActivationNames.Of(function)}_nchw");
        return graph.ToChannelsLast(channelsFirst, output);
    }

    /// <summary>A binary op applied left to right over two or more inputs, ((a ∘ b) ∘ c) ..., as NanoNet's merge layers do.</summary>
    private static string Chain(OnnxGraphBuilder graph, string opType, string[] inputs, string output)
    {
        string result = inputs[0];
        for (int i = 1; i < inputs.Length; i++)
            result = graph.Node(opType, [result, inputs[i]], i == inputs.Length - 1 ? output : $"{output}/partial_{i}");
        return result;
    }

    /// <summary>Keras's axis (batch axis 0, negative from the end) as a non-negative ONNX axis.</summary>
    private static long ConcatenationAxis(Concatenate concatenate)
    {
        int rank = concatenate.InputShapes[0].Length + 1;
        return concatenate.Axis < 0 ? rank + concatenate.Axis : concatenate.Axis;
    }

    /// <summary>ONNX pads [top, left, bottom, right], as <see cref="ConvGeometry"/> pads "same" (the odd row or column at the bottom or right).</summary>
    private static long[] Pads(ConvGeometry g)
    {
        int totalHeight = Math.Max((g.OutputHeight - 1) * g.StrideHeight + g.KernelHeight - g.Height, 0);
        int totalWidth = Math.Max((g.OutputWidth - 1) * g.StrideWidth + g.KernelWidth - g.Width, 0);
        return [g.PadTop, g.PadLeft, totalHeight - g.PadTop, totalWidth - g.PadLeft];
    }

    /// <summary>Keras's (KH, KW, C, F) kernel as ONNX's (F, C, KH, KW).</summary>
    private static float[] HwioToOihw(ReadOnlySpan<float> hwio, int kernelHeight, int kernelWidth, int channels, int filters)
    {
        var oihw = new float[hwio.Length];
        for (int h = 0; h < kernelHeight; h++)
            for (int w = 0; w < kernelWidth; w++)
                for (int c = 0; c < channels; c++)
                    for (int f = 0; f < filters; f++)
                        oihw[((f * channels + c) * kernelHeight + h) * kernelWidth + w] = hwio[((h * kernelWidth + w) * channels + c) * filters + f];
        return oihw;
    }

    /// <summary>
    /// A Keras LSTM kernel (rows, 4U) with gate blocks i, f, c, o as ONNX's [1, 4U, rows]: transposed (ONNX
    /// computes x·Wᵀ) and with the blocks in ONNX's order i, o, f, c.
    /// </summary>
    private static float[] OnnxLstmKernel(ReadOnlySpan<float> keras, int rows, int units)
    {
        int gates = 4 * units;
        var onnx = new float[gates * rows];
        for (int onnxGate = 0; onnxGate < 4; onnxGate++)
        {
            int kerasGate = OnnxGateToKerasGate[onnxGate];
            for (int unit = 0; unit < units; unit++)
                for (int row = 0; row < rows; row++)
                    onnx[(onnxGate * units + unit) * rows + row] = keras[row * gates + kerasGate * units + unit];
        }
        return onnx;
    }

    /// <summary>ONNX's [1, 8U] bias: the input bias Wb (Keras's bias, gates reordered to i, o, f, c), then the recurrent bias Rb, zero.</summary>
    private static float[] OnnxLstmBias(ReadOnlySpan<float> keras, int units)
    {
        var onnx = new float[8 * units];
        for (int onnxGate = 0; onnxGate < 4; onnxGate++)
            keras.Slice(OnnxGateToKerasGate[onnxGate] * units, units).CopyTo(onnx.AsSpan(onnxGate * units, units));
        return onnx;
    }

    private static long[] Dims(Tensor t) => [.. t.Shape.ToArray().Select(d => (long)d)];
}
