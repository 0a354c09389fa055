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
internal static partial class OnnxLayerMappings
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
        MaxPool2D pool => MapPooling2D(graph, "MaxPool", pool.PoolSize, pool.Strides, pool.SamePadding, pool.InputShape, inputs[0], output),
        Conv1D conv => MapConv1D(graph, conv, inputs[0], output),
        DepthwiseConv2D conv => MapDepthwiseConv2D(graph, conv, inputs[0], output),
        MaxPooling1D pool => MapPooling1D(graph, "MaxPool", pool.PoolSize, pool.Stride, pool.SamePadding, pool.InputShape, inputs[0], output),
        AveragePooling1D pool => MapPooling1D(graph, "AveragePool", pool.PoolSize, pool.Stride, pool.SamePadding, pool.InputShape, inputs[0], output),
        AveragePooling2D pool => MapPooling2D(graph, "AveragePool", pool.PoolSize, pool.Strides, pool.SamePadding, pool.InputShape, inputs[0], output),
        ZeroPadding2D padding => graph.Node("Pad", [inputs[0], graph.Int64Constant(
            0, padding.Height.Top, padding.Width.Left, 0, 0, padding.Height.Bottom, padding.Width.Right, 0)], output), // NHWC, mode constant 0
        UpSampling2D upsampling => MapResize(graph, $"{upsampling.Name}/scales", [1f, upsampling.Size.Height, upsampling.Size.Width, 1f], upsampling.Bilinear, inputs[0], output),
        UpSampling1D upsampling => MapResize(graph, $"{upsampling.Name}/scales", [1f, upsampling.Size, 1f], bilinear: false, inputs[0], output),
        Flatten => graph.Node("Reshape", [inputs[0], graph.Int64Constant(0, -1)], output),
        GlobalAveragePooling2D => graph.Node("ReduceMean", [inputs[0]], output, OnnxAttribute.Ints("axes", 1, 2), OnnxAttribute.Int("keepdims", 0)),
        GlobalMaxPooling2D => graph.Node("ReduceMax", [inputs[0]], output, OnnxAttribute.Ints("axes", 1, 2), OnnxAttribute.Int("keepdims", 0)),
        GlobalAveragePooling1D => graph.Node("ReduceMean", [inputs[0]], output, OnnxAttribute.Ints("axes", 1), OnnxAttribute.Int("keepdims", 0)),
        GlobalMaxPooling1D => graph.Node("ReduceMax", [inputs[0]], output, OnnxAttribute.Ints("axes", 1), OnnxAttribute.Int("keepdims", 0)),
        Reshape reshape => graph.Node("Reshape", [inputs[0], graph.Int64Constant([0, .. reshape.OutputShape.ToArray().Select(d => (long)d)])], output),
        Permute permute => graph.Node("Transpose", [inputs[0]], output, OnnxAttribute.Ints("perm", [0, .. permute.Dims.ToArray().Select(d => (long)d)])),
        RepeatVector repeat => graph.Node("Expand",
            [graph.Node("Unsqueeze", [inputs[0], graph.Int64Constant(1)], $"{output}/unsqueezed"), graph.Int64Constant(1, repeat.Count, 1)], output),
        Dropout or SpatialDropout => graph.Node("Identity", [inputs[0]], output), // inference: the input unchanged
        Activation { Function: ActivationFunction.Linear } => graph.Node("Identity", [inputs[0]], output),
        Activation activation => Activate(graph, inputs[0], activation.Function, output),
        LeakyRelu leaky => graph.Node("LeakyRelu", [inputs[0]], output, OnnxAttribute.Float("alpha", leaky.NegativeSlope)),
        Elu elu => graph.Node("Elu", [inputs[0]], output, OnnxAttribute.Float("alpha", elu.Alpha)),
        Softmax softmax => graph.Node("Softmax", [inputs[0]], output, OnnxAttribute.Int("axis", softmax.Axis)),
        Embedding embedding => MapEmbedding(graph, embedding, inputs[0], output),
        RecurrentLayer or Bidirectional => MapRecurrentCall(graph, layer, inputs, output, 1)[0],
        Add => Chain(graph, "Add", inputs, output),
        Subtract => graph.Node("Sub", [inputs[0], inputs[1]], output),
        Multiply => Chain(graph, "Mul", inputs, output),
        Concatenate concatenate => graph.Node("Concat", inputs, output,
            OnnxAttribute.Int("axis", ConcatenationAxis(concatenate))),
        BatchNormalization batchNorm => MapBatchNormalization(graph, batchNorm, inputs[0], output),
        LayerNormalization layerNorm => MapLayerNormalization(graph, layerNorm, inputs[0], output),
        MultiHeadAttention attention => MapMultiHeadAttention(graph, attention, inputs, output),
        _ => throw new NotSupportedException(
            $"Layer '{layer.Name}' ({layer.GetType().Name}) has no ONNX mapping: ONNX export knows Dense, Conv2D, Conv1D, DepthwiseConv2D, MaxPool2D, MaxPooling1D, AveragePooling1D, AveragePooling2D, ZeroPadding2D, UpSampling1D, UpSampling2D, Flatten, " +
            "GlobalAveragePooling2D, GlobalMaxPooling2D, GlobalAveragePooling1D, GlobalMaxPooling1D, Reshape, Permute, RepeatVector, Activation, LeakyRelu, Elu, Softmax, Dropout, SpatialDropout1D/2D, Embedding, Lstm, Gru, SimpleRnn, Bidirectional, Add, Subtract, Multiply, Concatenate, BatchNormalization, LayerNormalization and MultiHeadAttention."),
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
        int channels = conv.InputShape[2];
        ConvGeometry g = conv.Geometry(conv.InputShape);
        string kernel = graph.Weight($"{conv.Name}/kernel_oihw", [conv.Filters, channels, g.KernelHeight, g.KernelWidth],
            () => HwioToOihw(conv.Kernel.Span, g.KernelHeight, g.KernelWidth, channels, conv.Filters));
        string bias = graph.Weight($"{conv.Name}/bias", Dims(conv.Bias), () => conv.Bias.Span.ToArray());
        string convolved = graph.Node("Conv", [graph.ToChannelsFirst(x), kernel, bias], $"{output}/conv_nchw",
            OnnxAttribute.Ints("kernel_shape", g.KernelHeight, g.KernelWidth),
            OnnxAttribute.Ints("strides", g.StrideHeight, g.StrideWidth),
            OnnxAttribute.Ints("dilations", g.DilationHeight, g.DilationWidth),
            OnnxAttribute.Ints("pads", Pads(g)));
        return ChannelsLastWithActivation(graph, convolved, conv.Activation, output);
    }

    /// <summary>
    /// NHWC → Transpose → Conv with group = C (one group per input channel; weight (C·M, 1, KH, KW), output
    /// channel c·M + m in group c, as Keras orders them) → activation → Transpose → NHWC.
    /// </summary>
    private static string MapDepthwiseConv2D(OnnxGraphBuilder graph, DepthwiseConv2D conv, string x, string output)
    {
        int channels = conv.InputShape[2], multiplier = conv.DepthMultiplier;
        ConvGeometry g = conv.Geometry(conv.InputShape);
        // (KH, KW, C, M) read as HWIO with I = 1 and O = C·M is exactly OIHW (C·M, 1, KH, KW) once transposed.
        string kernel = graph.Weight($"{conv.Name}/depthwise_kernel_oihw", [channels * multiplier, 1, g.KernelHeight, g.KernelWidth],
            () => HwioToOihw(conv.Kernel.Span, g.KernelHeight, g.KernelWidth, 1, channels * multiplier));
        string bias = graph.Weight($"{conv.Name}/bias", Dims(conv.Bias), () => conv.Bias.Span.ToArray());
        string convolved = graph.Node("Conv", [graph.ToChannelsFirst(x), kernel, bias], $"{output}/conv_nchw",
            OnnxAttribute.Int("group", channels),
            OnnxAttribute.Ints("kernel_shape", g.KernelHeight, g.KernelWidth),
            OnnxAttribute.Ints("strides", g.StrideHeight, g.StrideWidth),
            OnnxAttribute.Ints("dilations", g.DilationHeight, g.DilationWidth),
            OnnxAttribute.Ints("pads", Pads(g)));
        return ChannelsLastWithActivation(graph, convolved, conv.Activation, output);
    }

    /// <summary>
    /// NHWC → Transpose → MaxPool or AveragePool (explicit pads that never count: MaxPool pads with −∞ as
    /// NanoNet skips them, AveragePool has count_include_pad = 0, Keras's 'same' average) → Transpose → NHWC.
    /// </summary>
    private static string MapPooling2D(OnnxGraphBuilder graph, string opType, (int Height, int Width) pool, (int Height, int Width) strides,
        bool samePadding, ReadOnlySpan<int> input, string x, string output)
    {
        ConvGeometry g = ConvGeometry.Create(input[0], input[1], input[2], pool.Height, pool.Width, strides.Height, strides.Width, samePadding);
        OnnxAttribute[] attributes = [OnnxAttribute.Ints("kernel_shape", pool.Height, pool.Width), OnnxAttribute.Ints("strides", strides.Height, strides.Width),
            OnnxAttribute.Ints("pads", Pads(g))];
        if (opType == "AveragePool")
            attributes = [.. attributes, OnnxAttribute.Int("count_include_pad", 0)];
        string pooled = graph.Node(opType, [graph.ToChannelsFirst(x)], $"{output}/pool_nchw", attributes);
        return graph.ToChannelsLast(pooled, output);
    }

    /// <summary>
    /// (N, T, C) → Transpose → 1-D Conv (kernel (F, C, K), explicit pads: causal is all at the start,
    /// dilations) → element-wise activation → Transpose → (N, OT, F); a softmax comes after the transpose back.
    /// </summary>
    private static string MapConv1D(OnnxGraphBuilder graph, Conv1D conv, string x, string output)
    {
        int steps = conv.InputShape[0], channels = conv.InputShape[1];
        ConvGeometry g = ConvGeometry.Create(1, steps, channels, 1, conv.KernelSize, 1, conv.Stride, 1, conv.DilationRate, conv.Padding);
        // (K, C, F) is the HWIO kernel (1, K, C, F); as OIHW (F, C, 1, K) its values are those of (F, C, K).
        string kernel = graph.Weight($"{conv.Name}/kernel_oik", [conv.Filters, channels, conv.KernelSize],
            () => HwioToOihw(conv.Kernel.Span, 1, conv.KernelSize, channels, conv.Filters));
        string bias = graph.Weight($"{conv.Name}/bias", Dims(conv.Bias), () => conv.Bias.Span.ToArray());
        string channelsFirst = graph.Node("Transpose", [x], $"{output}/nct_input", OnnxAttribute.Ints("perm", 0, 2, 1));
        string convolved = graph.Node("Conv", [channelsFirst, kernel, bias], $"{output}/conv_nct",
            OnnxAttribute.Ints("kernel_shape", conv.KernelSize),
            OnnxAttribute.Ints("strides", conv.Stride),
            OnnxAttribute.Ints("dilations", conv.DilationRate),
            OnnxAttribute.Ints("pads", g.PadLeft, g.PadRight));
        if (conv.Activation == ActivationFunction.Softmax)
            return Activate(graph, graph.Node("Transpose", [convolved], $"{output}/ntc", OnnxAttribute.Ints("perm", 0, 2, 1)), conv.Activation, output);
        string activated = conv.Activation == ActivationFunction.Linear ? convolved
            : Activate(graph, convolved, conv.Activation, $"{output}/{ActivationNames.Of(conv.Activation)}_nct");
        return graph.Node("Transpose", [activated], output, OnnxAttribute.Ints("perm", 0, 2, 1));
    }

    /// <summary>
    /// (N, T, C) → Transpose → 1-D MaxPool or AveragePool (explicit pads; padding never counts: MaxPool pads
    /// with −∞, AveragePool with count_include_pad = 0, Keras's 'same' average) → Transpose → (N, OT, C).
    /// </summary>
    private static string MapPooling1D(OnnxGraphBuilder graph, string opType, int poolSize, int stride, bool samePadding, ReadOnlySpan<int> input,
        string x, string output)
    {
        ConvGeometry g = ConvGeometry.Create(1, input[0], input[1], 1, poolSize, 1, stride, samePadding);
        string channelsFirst = graph.Node("Transpose", [x], $"{output}/nct_input", OnnxAttribute.Ints("perm", 0, 2, 1));
        OnnxAttribute[] attributes = [OnnxAttribute.Ints("kernel_shape", poolSize), OnnxAttribute.Ints("strides", stride),
            OnnxAttribute.Ints("pads", g.PadLeft, g.PadRight)];
        if (opType == "AveragePool")
            attributes = [.. attributes, OnnxAttribute.Int("count_include_pad", 0)];
        string pooled = graph.Node(opType, [channelsFirst], $"{output}/pool_nct", attributes);
        return graph.Node("Transpose", [pooled], output, OnnxAttribute.Ints("perm", 0, 2, 1));
    }

    /// <summary>
    /// <c>Resize</c> on the channels-last value itself (scales 1 on the batch and channel axes, no transpose):
    /// nearest as coordinate_transformation_mode "asymmetric" and nearest_mode "floor", so output o reads input
    /// ⌊o/scale⌋ (Keras's block repeat); bilinear as mode "linear" with "half_pixel" (TensorFlow's resize, which
    /// Keras's bilinear UpSampling2D runs). Roi is left out ("").
    /// </summary>
    private static string MapResize(OnnxGraphBuilder graph, string scalesName, float[] scales, bool bilinear, string x, string output)
    {
        string scalesValue = graph.Weight(scalesName, [scales.Length], () => scales);
        OnnxAttribute[] attributes = bilinear
            ? [OnnxAttribute.String("mode", "linear"), OnnxAttribute.String("coordinate_transformation_mode", "half_pixel")]
            : [OnnxAttribute.String("mode", "nearest"), OnnxAttribute.String("coordinate_transformation_mode", "asymmetric"), OnnxAttribute.String("nearest_mode", "floor")];
        return graph.Node("Resize", [x, "", scalesValue], output, attributes);
    }

    /// <summary>Cast the float ids to int64, then Gather rows of the (vocabulary, dim) table.</summary>
    private static string MapEmbedding(OnnxGraphBuilder graph, Embedding embedding, string ids, string output)
    {
        string table = graph.Weight($"{embedding.Name}/embeddings", Dims(embedding.Table), () => embedding.Table.Span.ToArray());
        string indices = graph.Node("Cast", [ids], $"{output}/ids_int64", OnnxAttribute.Int("to", (long)OnnxElementType.Int64));
        return graph.Node("Gather", [table, indices], output, OnnxAttribute.Int("axis", 0));
    }

    /// <summary>
    /// Every output of one call of a recurrent layer or <see cref="Bidirectional"/>, in the call's order: the output,
    /// then (when <paramref name="outputCount"/> asks for them, Keras' <c>return_state</c>) the final states. The
    /// inputs after the first are the call's initial state (Keras' <c>initial_state</c>).
    /// </summary>
    public static string[] MapRecurrentCall(OnnxGraphBuilder graph, Layer layer, string[] inputs, string output, int outputCount) => layer switch
    {
        RecurrentLayer recurrent => MapRecurrent(graph, recurrent, inputs[0], inputs[1..], output, outputCount > 1),
        Bidirectional bidirectional => MapBidirectional(graph, bidirectional, inputs[0], inputs[1..], output, outputCount > 1),
        _ => throw new NotSupportedException($"Layer '{layer.Name}' ({layer.GetType().Name}) is not recurrent."),
    };

    /// <summary>
    /// (N, T, D) → Transpose → time-major LSTM, GRU or RNN (ONNX's default layout; ONNX Runtime does not run
    /// layout=1), direction "reverse" for go_backwards → every step's Y (T, 1, N, H) squeezed and transposed back to
    /// (N, T, H), or the last Y_h (1, N, H) squeezed to (N, H). ONNX's reverse Y is in input order and Keras returns
    /// go_backwards steps in processing order, so a reversed sequence is flipped along time (Slice, step −1).
    /// Dropout is off at inference and exports as nothing.
    /// </summary>
    /// <remarks>
    /// ONNX's recurrent ops take the initial state as (directions = 1, N, U) inputs initial_h (and initial_c) and return
    /// the final state as Y_h (and Y_c) in the same layout: Unsqueeze and Squeeze on axis 0 convert from and to (N, U).
    /// </remarks>
    private static string[] MapRecurrent(OnnxGraphBuilder graph, RecurrentLayer layer, string x, string[] initialState, string output, bool wantStates)
    {
        if (layer.Stateful)
            throw new NotSupportedException(
                $"Layer '{layer.Name}' ({layer.GetType().Name}) is stateful: it carries its state from one batch to the next, which an ONNX model (a function of its inputs) cannot express. Export a copy of the model built with stateful: false.");
        int units = layer.Units, features = layer.InputShape[1];
        string name = layer.Name;
        (string opType, string[] weights, OnnxAttribute[] attributes) = layer switch
        {
            Lstm lstm => ("LSTM", new[]
            {
                graph.Weight($"{name}/W_iofc", [1, 4 * units, features], () => OnnxLstmKernel(lstm.Kernel.Span, features, units)),
                graph.Weight($"{name}/R_iofc", [1, 4 * units, units], () => OnnxLstmKernel(lstm.RecurrentKernel.Span, units, units)),
                graph.Weight($"{name}/B_iofc", [1, 8 * units], () => OnnxLstmBias(lstm.Bias.Span, units)),
            }, Array.Empty<OnnxAttribute>()),
            // Keras' GRU gates z, r, h are ONNX's order; its (2, 3U) bias is ONNX's [Wb, Rb]; reset_after is linear_before_reset.
            Gru gru => ("GRU", new[]
            {
                graph.Weight($"{name}/W_zrh", [1, 3 * units, features], () => Transposed(gru.Kernel.Span, features, 3 * units)),
                graph.Weight($"{name}/R_zrh", [1, 3 * units, units], () => Transposed(gru.RecurrentKernel.Span, units, 3 * units)),
                graph.Weight($"{name}/B_zrh", [1, 6 * units], () => gru.Bias.Span.ToArray()),
            }, new[] { OnnxAttribute.Int("linear_before_reset", 1) }),
            SimpleRnn rnn => ("RNN", new[]
            {
                graph.Weight($"{name}/W", [1, units, features], () => Transposed(rnn.Kernel.Span, features, units)),
                graph.Weight($"{name}/R", [1, units, units], () => Transposed(rnn.RecurrentKernel.Span, units, units)),
                graph.Weight($"{name}/B", [1, 2 * units], () => [.. rnn.Bias.Span, .. new float[units]]),
            }, new[] { RnnActivation(rnn) }),
            _ => throw new NotSupportedException($"Layer '{name}' ({layer.GetType().Name}) has no ONNX mapping."),
        };
        string timeMajor = graph.Node("Transpose", [x], $"{output}/time_major", OnnxAttribute.Ints("perm", 1, 0, 2));
        OnnxAttribute[] all = [OnnxAttribute.Int("hidden_size", units), .. attributes,
            .. layer.GoBackwards ? [OnnxAttribute.String("direction", "reverse")] : Array.Empty<OnnxAttribute>()];
        // Inputs after B: sequence_lens (none: ""), initial_h (and for LSTM initial_c), each (1, N, U).
        string[] stateNames = [.. Enumerable.Range(1, layer.StateCount).Select(layer.OutputName)];
        string[] initial = initialState.Length == 0 ? []
            : ["", .. initialState.Select((state, i) => graph.Node("Unsqueeze", [state, graph.Int64Constant(0)], $"{output}/initial_{stateNames[i]}"))];
        bool hasCell = layer.StateCount == 2;
        string?[] wanted = [layer.ReturnSequences ? $"{output}/Y" : null, wantStates || !layer.ReturnSequences ? $"{output}/Y_h" : null,
            .. hasCell && wantStates ? [$"{output}/Y_c"] : Array.Empty<string>()];
        string[] results = graph.Node(opType, [timeMajor, .. weights, .. initial], wanted, all);
        string main;
        if (!layer.ReturnSequences)
        {
            main = graph.Node("Squeeze", [results[1], graph.Int64Constant(0)], output);
        }
        else
        {
            string steps = graph.Node("Squeeze", [results[0], graph.Int64Constant(1)], $"{output}/steps_time_major");
            if (layer.GoBackwards)
                steps = ReverseAxis(graph, steps, 0, $"{output}/processing_order");
            main = graph.Node("Transpose", [steps], output, OnnxAttribute.Ints("perm", 1, 0, 2));
        }
        if (!wantStates)
            return [main];
        // The final states, (1, N, U) → (N, U): h after the last processed step (input step 0 for go_backwards), as NanoNet returns it.
        return [main, .. stateNames.Select((state, i) => graph.Node("Squeeze", [results[1 + i], graph.Int64Constant(0)], $"{output}/{state}"))];
    }

    /// <summary>ONNX RNN's activation: Tanh, Relu, or Affine(1, 0) for linear.</summary>
    private static OnnxAttribute RnnActivation(SimpleRnn rnn) => rnn.Activation switch
    {
        ActivationFunction.Tanh => OnnxAttribute.Strings("activations", "Tanh"),
        ActivationFunction.Relu => OnnxAttribute.Strings("activations", "Relu"),
        _ => throw new NotSupportedException(
            $"Layer '{rnn.Name}' (SimpleRnn) uses the {ActivationNames.Of(rnn.Activation)} activation; ONNX Runtime's RNN runs tanh and relu only."),
    };

    /// <summary>
    /// Both directions mapped as the layers they are (the backward one in Keras' processing order, flipped back to
    /// input order when it returns sequences), then merged: Concat on the last axis, Add, Mul, or Add then × ½.
    /// </summary>
    private static string[] MapBidirectional(OnnxGraphBuilder graph, Bidirectional layer, string x, string[] initialState, string output, bool wantStates)
    {
        var forwardLayer = (RecurrentLayer)layer.ForwardLayer;
        int states = forwardLayer.StateCount;
        // Keras' initial_state of a Bidirectional: the forward layer's states, then the backward layer's.
        string[] forwardResults = MapRecurrent(graph, forwardLayer, x, initialState.Length == 0 ? [] : initialState[..states], $"{output}/forward", wantStates);
        string[] backwardResults = MapRecurrent(graph, (RecurrentLayer)layer.BackwardLayer, x, initialState.Length == 0 ? [] : initialState[states..],
            $"{output}/backward", wantStates);
        string forward = forwardResults[0], backward = backwardResults[0];
        if (layer.ReturnSequences)
            backward = ReverseAxis(graph, backward, 1, $"{output}/backward_input_order");
        string merged = layer.MergeMode switch
        {
            "concat" => graph.Node("Concat", [forward, backward], output, OnnxAttribute.Int("axis", -1)),
            "sum" => graph.Node("Add", [forward, backward], output),
            "mul" => graph.Node("Mul", [forward, backward], output),
            _ => graph.Node("Mul", [graph.Node("Add", [forward, backward], $"{output}/sum"), FloatScalar(graph, "half", 0.5f)], output),
        };
        return [merged, .. forwardResults[1..], .. backwardResults[1..]];
    }

    /// <summary>Flips <paramref name="axis"/>: Slice from the last element to before the first, step −1.</summary>
    private static string ReverseAxis(OnnxGraphBuilder graph, string x, long axis, string output) =>
        graph.Node("Slice", [x, graph.Int64Constant(-1), graph.Int64Constant(long.MinValue), graph.Int64Constant(axis), graph.Int64Constant(-1)], output);

    /// <summary>A (rows, columns) matrix as ONNX's (columns, rows): ONNX's recurrent ops compute x·Wᵀ.</summary>
    private static float[] Transposed(ReadOnlySpan<float> matrix, int rows, int columns)
    {
        var result = new float[matrix.Length];
        for (int row = 0; row < rows; row++)
            for (int column = 0; column < columns; column++)
                result[column * rows + row] = matrix[row * columns + column];
        return result;
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
    private static long[] Pads(ConvGeometry g) => [g.PadTop, g.PadLeft, g.PadBottom, g.PadRight];

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
