namespace NanoNet.Layers;

/// <summary>Keras's names for the activation functions ("relu", "softmax", ...), for configs and summaries.</summary>
public static class ActivationNames
{
    /// <summary>The Keras name of <paramref name="function"/>, e.g. "relu".</summary>
    public static string Of(ActivationFunction function) => function switch
    {
        ActivationFunction.Linear => "linear",
        ActivationFunction.Relu => "relu",
        ActivationFunction.Sigmoid => "sigmoid",
        ActivationFunction.Tanh => "tanh",
        ActivationFunction.Softmax => "softmax",
        ActivationFunction.LeakyRelu => "leaky_relu",
        ActivationFunction.Elu => "elu",
        ActivationFunction.Selu => "selu",
        ActivationFunction.Gelu => "gelu",
        ActivationFunction.Silu => "silu",
        ActivationFunction.Softplus => "softplus",
        ActivationFunction.Softsign => "softsign",
        ActivationFunction.HardSigmoid => "hard_sigmoid",
        _ => throw new ArgumentOutOfRangeException(nameof(function), function, "Unknown activation."),
    };

    /// <summary>The activation named <paramref name="name"/> (Keras spelling, case-insensitive; "swish" is Keras's alias of "silu").</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the known ones.</exception>
    public static ActivationFunction Parse(string name)
    {
        if (string.Equals(name, "swish", StringComparison.OrdinalIgnoreCase))
            return ActivationFunction.Silu;
        foreach (ActivationFunction function in Enum.GetValues<ActivationFunction>())
            if (string.Equals(Of(function), name, StringComparison.OrdinalIgnoreCase))
                return function;
        throw new ArgumentException($"Unknown activation \"{name}\"; known: {string.Join(", ", Enum.GetValues<ActivationFunction>().Select(Of))}.", nameof(name));
    }
}
