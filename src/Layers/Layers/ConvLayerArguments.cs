using NanoNet.Kernels;

namespace NanoNet.Layers;

/// <summary>
/// The arguments the convolution and pooling layers share: Keras's padding names ("valid", "same",
/// "causal"), positive sizes, (height, width) pairs in configs, and the output length of a 1-D window.
/// </summary>
internal static class ConvLayerArguments
{
    /// <summary>The padding named <paramref name="name"/>; causal only where <paramref name="allowCausal"/> (Conv1D).</summary>
    public static ConvPadding Parse(string layerType, string name, bool allowCausal = false) => name switch
    {
        "valid" => ConvPadding.Valid,
        "same" => ConvPadding.Same,
        "causal" when allowCausal => ConvPadding.Causal,
        _ => throw new ArgumentException(
            $"{layerType} padding must be \"valid\"{(allowCausal ? ", \"same\" or \"causal\"" : " or \"same\"")}, got \"{name}\".", "padding"),
    };

    /// <summary>The Keras name of <paramref name="padding"/>.</summary>
    public static string Of(ConvPadding padding) => padding switch
    {
        ConvPadding.Same => "same",
        ConvPadding.Causal => "causal",
        _ => "valid",
    };

    /// <summary>Throws unless <paramref name="value"/> is positive, naming the layer type and the argument.</summary>
    public static int Positive(string layerType, string argument, int value) =>
        value >= 1 ? value : throw new ArgumentOutOfRangeException(argument, value, $"{layerType} {argument} must be positive.");

    /// <summary>Throws unless both values of <paramref name="pair"/> are positive.</summary>
    public static (int, int) Positive(string layerType, string argument, (int A, int B) pair) =>
        (Positive(layerType, argument, pair.A), Positive(layerType, argument, pair.B));

    /// <summary>
    /// A (height, width) config argument written as a Keras pair [h, w] or as one integer for both (older
    /// NanoNet files); <paramref name="fallback"/> when absent.
    /// </summary>
    public static (int, int) Pair(LayerConfig config, string key, (int, int) fallback)
    {
        if (!config.Contains(key))
            return fallback;
        if (config[key] is int both)
            return (both, both);
        int[] pair = config.GetInts(key);
        return pair.Length == 2 ? (pair[0], pair[1])
            : throw new ArgumentException($"{config.TypeName} config argument '{key}' must be one integer or two, got {pair.Length}.");
    }

    /// <summary>The output steps of a 1-D pooling layer; throws naming the layer for a wrong rank or a window that does not fit.</summary>
    public static int Pooling1DOutputSteps(Layer layer, string type, int[] inputShape, int poolSize, int stride, bool samePadding)
    {
        if (inputShape.Length != 2)
            throw new ArgumentException($"Layer '{layer.Name}' ({type}) expects sequences of shape (steps, channels), got per-example shape {Shapes.Format(inputShape)}.");
        if (!samePadding && inputShape[0] < poolSize)
            throw new ArgumentException($"Layer '{layer.Name}' ({type}): a window of {poolSize} steps does not fit {inputShape[0]} steps with 'valid' padding (per-example input {Shapes.Format(inputShape)}).");
        return ConvGeometry.Create(1, inputShape[0], inputShape[1], 1, poolSize, 1, stride, samePadding).OutputWidth;
    }

    /// <summary>The per-example output shape of a 2-D pooling layer; throws naming the layer for a wrong rank or a window that does not fit.</summary>
    public static int[] Pooling2DOutputShape(Layer layer, string type, int[] inputShape, (int Height, int Width) pool, (int Height, int Width) strides, bool samePadding)
    {
        if (inputShape.Length != 3)
            throw new ArgumentException($"Layer '{layer.Name}' ({type}) expects images of shape (height, width, channels), got per-example shape {Shapes.Format(inputShape)}.");
        if (!samePadding && (inputShape[0] < pool.Height || inputShape[1] < pool.Width))
            throw new ArgumentException($"Layer '{layer.Name}' ({type}): a {pool.Height}x{pool.Width} window does not fit with 'valid' padding (per-example input {Shapes.Format(inputShape)}).");
        var g = ConvGeometry.Create(inputShape[0], inputShape[1], inputShape[2], pool.Height, pool.Width, strides.Height, strides.Width, samePadding);
        return [g.OutputHeight, g.OutputWidth, inputShape[2]];
    }

    /// <summary>
    /// The geometry of a 2-D convolution layer on a per-example input; throws naming the layer for a wrong
    /// rank or a window that does not fit.
    /// </summary>
    public static ConvGeometry ImageGeometry(Layer layer, string type, ReadOnlySpan<int> inputShape, (int Height, int Width) kernel,
        (int Height, int Width) strides, (int Height, int Width) dilation, bool samePadding)
    {
        if (inputShape.Length != 3)
            throw new ArgumentException($"Layer '{layer.Name}' ({type}) expects images of shape (height, width, channels), got per-example shape {Shapes.Format(inputShape)}.");
        try
        {
            return ConvGeometry.Create(inputShape[0], inputShape[1], inputShape[2], kernel.Height, kernel.Width, strides.Height, strides.Width,
                dilation.Height, dilation.Width, samePadding ? ConvPadding.Same : ConvPadding.Valid);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"Layer '{layer.Name}' ({type}): {e.Message} (per-example input {Shapes.Format(inputShape)}).", e);
        }
    }
}
