using NanoNet.Layers;
using NanoNet.Losses;
using NanoNet.Optim;
using NanoNet.Persistence;

namespace NanoNet.Fuzz.Formats;

/// <summary>
/// A reader under fuzzing. The contract: given any bytes, it returns a valid result or throws
/// <see cref="InvalidDataException"/> whose message names the file; anything else is a bug.
/// </summary>
public abstract class FuzzTarget
{
    /// <summary>The target's name on the command line (and the prefix of its regression files).</summary>
    public abstract string Name { get; }

    /// <summary>The suffix of the seed files this target mutates (in tests/Persistence/Seeds).</summary>
    public abstract string SeedSuffix { get; }

    /// <summary>Reads <paramref name="bytes"/> as a file named <paramref name="fileName"/> from the seed model <paramref name="seedModel"/>.</summary>
    public abstract void Read(byte[] bytes, string fileName, string seedModel);

    /// <summary>The targets: <c>safetensors</c> (weights into a fresh model), <c>model</c> (whole-model files) and <c>checkpoint</c>.</summary>
    public static IReadOnlyList<FuzzTarget> All { get; } = [new WeightsTarget(), new ModelTarget(), new CheckpointTarget()];

    /// <summary>The target named <paramref name="name"/>.</summary>
    public static FuzzTarget Named(string name) => All.FirstOrDefault(t => t.Name == name)
        ?? throw new ArgumentException($"Unknown fuzz target '{name}'; known: {string.Join(", ", All.Select(t => t.Name))}.");
}

/// <summary>safetensors weights: the reader, then LoadWeights into a fresh model of the seed's architecture.</summary>
internal sealed class WeightsTarget : FuzzTarget
{
    public override string Name => "safetensors";

    public override string SeedSuffix => ".weights.safetensors";

    public override void Read(byte[] bytes, string fileName, string seedModel)
    {
        SafeTensorsFile file = SafeTensorsReader.Read(new MemoryStream(bytes), fileName);
        foreach (SafeTensor tensor in file.Tensors)
            if (tensor.HasFloat32Values)
                _ = tensor.Values.Length;
        SeedModels.Create(seedModel).LoadWeights(new MemoryStream(bytes), fileName);
    }
}

/// <summary>Whole-model files: Model.Load (architecture rebuilt, weights loaded).</summary>
internal sealed class ModelTarget : FuzzTarget
{
    public override string Name => "model";

    public override string SeedSuffix => ".model.safetensors";

    public override void Read(byte[] bytes, string fileName, string seedModel) =>
        _ = Model.Load(new MemoryStream(bytes), fileName).Weights.Count;
}

/// <summary>Checkpoints: LoadCheckpoint into a fresh model of the seed's architecture, compiled with Adam as the seed was.</summary>
internal sealed class CheckpointTarget : FuzzTarget
{
    public override string Name => "checkpoint";

    public override string SeedSuffix => ".checkpoint.safetensors";

    public override void Read(byte[] bytes, string fileName, string seedModel)
    {
        Model model = SeedModels.Create(seedModel);
        model.Compile(new Adam(0.01f), new SparseCategoricalCrossEntropy(), seed: 1);
        TrainingState state = model.LoadCheckpoint(new MemoryStream(bytes), fileName);
        _ = state.RandomStates.Count;
    }
}
