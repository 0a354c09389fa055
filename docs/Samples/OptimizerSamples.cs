using NanoNet.Layers;
using NanoNet.Losses;
using NanoNet.Optim;

namespace NanoNet.Docs.Samples;

/// <summary>Samples of docs/optimizers.md.</summary>
public static class OptimizerSamples
{
    /// <summary>An Adam with every knob of the base class set; returns it and the rates of steps 0, 100, 500 and 2000.</summary>
    public static (Optimizer Optimizer, float[] Rates) Configure()
    {
        #region configure
        // η(step): linear warm-up from 0 to 1e-3 over 500 steps, then a cosine down to 1e-5 over 10,000.
        var schedule = new CosineDecay(initialLearningRate: 0f, decaySteps: 10_000, alpha: 0.01f,
                                       warmupTarget: 1e-3f, warmupSteps: 500);
        var adam = new Adam(learningRate: 1e-3f)   // the base rate is used only without a schedule
        {
            Schedule = schedule,
            GlobalClipNorm = 5f,   // g ← g · min(1, 5 / ‖g‖), ‖g‖ over every parameter of the step
            ClipValue = 1f,        // then each element clamped to [−1, 1]
            L2 = 1e-4f,            // then g ← g + λ·θ, inside the same fused pass as the update
        };
        float[] rates = [schedule.LearningRate(0), schedule.LearningRate(100), schedule.LearningRate(500), schedule.LearningRate(2000)];
        #endregion
        return (adam, rates);
    }

    /// <summary>The IMDB seed model compiled with lazy Adam.</summary>
    public static Sequential LazyAdam()
    {
        #region lazy
        // Only the rows of the embedding table a batch used update their weights and moments;
        // the other parameters (the LSTM's, the Dense layer's) get the usual dense Adam step.
        var model = new Sequential([200], new Embedding(20_000, 128), new Lstm(128), new Dense(2, ActivationFunction.Softmax));
        model.Compile(new Adam(learningRate: 1e-3f, lazy: true), new SparseCategoricalCrossEntropy());
        #endregion
        return model;
    }

    #region custom-optimizer
    /// θ ← θ − η·sign(g): an optimizer of your own is a subclass with one Update per parameter tensor.
    public sealed class SignSgd(float learningRate = 0.01f) : Optimizer(learningRate)   // no state buffers
    {
        protected override void Update(Span<float> weights, ReadOnlySpan<float> gradient, float[][] state,
            float learningRate, in GradientTransform transform)
        {
            for (int i = 0; i < weights.Length; i++)
            {
                float g = transform.Apply(gradient[i], weights[i]);   // clipping and L1/L2, as the built-ins do
                weights[i] -= learningRate * MathF.Sign(g);
            }
        }
    }
    #endregion
}
