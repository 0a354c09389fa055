using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Persistence;

namespace NanoNet.Docs.Samples;

/// <summary>The sample of docs/persistence.md: weights only, and whole models.</summary>
public static class PersistenceSamples
{
    /// <summary>Saves and loads a model both ways; returns the loaded copy.</summary>
    public static Model SaveAndLoad(Model model)
    {
        #region save-and-load
        model.SaveWeights("cifar.weights.safetensors");   // weights only
        model.LoadWeights("cifar.weights.safetensors");   // into a model you built the same way
        model.Save("cifar.model.safetensors");            // architecture + weights, one file
        Model loaded = Model.Load("cifar.model.safetensors");   // predicts at once; Compile before Fit
        #endregion
        return loaded;
    }

    /// <summary>Saves a checkpoint after two epochs and continues from it; returns the continued history.</summary>
    public static TrainingHistory SaveAndResume(Model model, Dataset train, ImageAugmentation augmentation)
    {
        #region checkpoint
        model.SaveCheckpoint("run.ckpt", new TrainingState { Epoch = 2, RandomStates = { ["augmentation"] = augmentation.Random.State } });
        // later, in any process: build and compile the same model with the same optimizer type, then
        TrainingState state = model.LoadCheckpoint("run.ckpt");        // weights, optimizer state, Iterations
        augmentation.Random.Restore(state.RandomStates["augmentation"]);
        var history = model.Fit(train, epochs: 4, seed: 1, batchTransform: b => augmentation.Apply(b.Features), initialEpoch: state.Epoch);   // epochs 3 and 4
        #endregion
        return history;
    }
}
