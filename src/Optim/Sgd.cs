using System.Numerics.Tensors;

namespace NanoNet.Optim;

/// <summary>
/// Plain stochastic gradient descent: θ ← θ − η·g. (Keras default η = 0.01.)
/// </summary>
/// <remarks>
/// "Stochastic" or not is decided by the training loop's batch size, not by the optimizer: with
/// batch size 1 this is SGD, with the whole data set it is batch gradient descent.
/// </remarks>
public sealed class Sgd(float learningRate = 0.01f) : Optimizer(learningRate)
{
    /// <inheritdoc />
    protected override void Update(int slot, Span<float> weights, ReadOnlySpan<float> gradient, float learningRate) =>
        TensorPrimitives.MultiplyAdd(gradient, -learningRate, weights, weights);
}
