using NanoNet.Optim;

/// <summary>Maps a command-line optimizer name to an optimizer.</summary>
internal static class OptimizerFactory
{
    public static Optimizer Create(string name, float learningRate) => name.ToLowerInvariant() switch
    {
        "sgd" => new Sgd(learningRate),
        _ => throw new ArgumentException($"Unknown optimizer '{name}'. Available: sgd."),
    };
}
