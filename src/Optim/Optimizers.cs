namespace NanoNet.Optim;

/// <summary>Creates optimizers by name, for command lines and configuration files.</summary>
public static class Optimizers
{
    /// <summary>The names <see cref="Create"/> accepts.</summary>
    public static readonly IReadOnlyList<string> Names = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"];

    /// <summary>
    /// A new optimizer: <paramref name="name"/> is one of <see cref="Names"/> (case-insensitive);
    /// a null <paramref name="learningRate"/> takes that optimizer's Keras default.
    /// </summary>
    /// <exception cref="ArgumentException">The name is unknown; the message lists the valid ones.</exception>
    public static Optimizer Create(string name, float? learningRate = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.ToLowerInvariant() switch
        {
            "sgd" => new Sgd(learningRate ?? 0.01f),
            "momentum" => new Momentum(learningRate ?? 0.01f, beta: 0.9f),
            "nesterov" => new Nesterov(learningRate ?? 0.01f, beta: 0.9f),
            "adagrad" => new Adagrad(learningRate ?? 0.001f),
            "rmsprop" => new RmsProp(learningRate ?? 0.001f),
            "adam" => new Adam(learningRate ?? 0.001f),
            "adamw" => new AdamW(learningRate ?? 0.001f),
            _ => throw new ArgumentException($"Unknown optimizer '{name}'. Available: {string.Join(", ", Names)}.", nameof(name)),
        };
    }
}
