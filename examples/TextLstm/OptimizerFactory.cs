using NanoNet.Optim;

/// <summary>Maps a command-line optimizer name to an optimizer (add more names here as the Optim library grows).</summary>
internal static class OptimizerFactory
{
    public static readonly string[] Names = ["sgd"];

    public static Optimizer Create(string name, float learningRate) => name.ToLowerInvariant() switch
    {
        "sgd" => new Sgd(learningRate),
        _ => throw new ArgumentException($"Unknown optimizer '{name}'. Available: {string.Join(", ", Names)}."),
    };
}
