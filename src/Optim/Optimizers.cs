namespace NanoNet.Optim;

/// <summary>Creates optimizers by name, for command lines and configuration files.</summary>
public static class Optimizers
{
    /// <summary>The names <see cref="Create"/> accepts.</summary>
    public static readonly IReadOnlyList<string> Names = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"];

    /// <summary>
    /// A new optimizer: <paramref name="name"/> is one of <see cref="Names"/> (case-insensitive);
    /// a null <paramref name="learningRate"/> takes that optimizer's Keras default. <paramref name="lazy"/> asks for
    /// the lazy (sparse-row) variant (<see cref="Optimizer.Lazy"/>); plain SGD already updates only an embedding's
    /// touched rows, and stays as it is.
    /// </summary>
    /// <exception cref="ArgumentException">The name is unknown; the message lists the valid ones.</exception>
    public static Optimizer Create(string name, float? learningRate = null, bool lazy = false)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.ToLowerInvariant() switch
        {
            "sgd" => new Sgd(learningRate ?? 0.01f),
            "momentum" => new Momentum(learningRate ?? 0.01f, beta: 0.9f, lazy: lazy),
            "nesterov" => new Nesterov(learningRate ?? 0.01f, beta: 0.9f, lazy: lazy),
            "adagrad" => new Adagrad(learningRate ?? 0.001f, lazy: lazy),
            "rmsprop" => new RmsProp(learningRate ?? 0.001f, lazy: lazy),
            "adam" => new Adam(learningRate ?? 0.001f, lazy: lazy),
            "adamw" => new AdamW(learningRate ?? 0.001f, lazy: lazy),
            _ => throw new ArgumentException($"Unknown optimizer '{name}'. Available: {string.Join(", ", Names)}.", nameof(name)),
        };
    }
}
