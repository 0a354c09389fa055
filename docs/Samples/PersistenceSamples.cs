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
}
