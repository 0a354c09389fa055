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
        _ => throw new ArgumentOutOfRangeException(nameof(function), function, "Unknown activation."),
    };

    /// <summary>The activation named <paramref name="name"/> (Keras spelling, case-insensitive).</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the known ones.</exception>
    public static ActivationFunction Parse(string name)
    {
        foreach (ActivationFunction function in Enum.GetValues<ActivationFunction>())
            if (string.Equals(Of(function), name, StringComparison.OrdinalIgnoreCase))
                return function;
        throw new ArgumentException($"Unknown activation \"{name}\"; known: {string.Join(", ", Enum.GetValues<ActivationFunction>().Select(Of))}.", nameof(name));
    }
}
