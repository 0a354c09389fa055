using System.Numerics.Tensors;
using NanoNet.Optim;

namespace NanoNet.Tests;

/// <summary>
/// A minimal Adam (Kingma &amp; Ba, Keras defaults) for the text-training tests, which plain SGD does not
/// move far enough in a few epochs. A stand-in until the Optim library's own Adam is merged; switch the
/// tests to it then.
/// </summary>
internal sealed class TestAdam(float learningRate = 0.001f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-7f)
    : Optimizer(learningRate)
{
    private readonly Dictionary<int, (float[] M, float[] V, float[] Scratch)> _moments = [];

    protected override void Update(int slot, Span<float> weights, ReadOnlySpan<float> gradient, float learningRate)
    {
        if (!_moments.TryGetValue(slot, out var m))
            _moments[slot] = m = (new float[weights.Length], new float[weights.Length], new float[weights.Length]);
        long t = Iterations + 1;
        float step = learningRate * MathF.Sqrt(1 - MathF.Pow(beta2, t)) / (1 - MathF.Pow(beta1, t));
        // Span primitives (fast even in a Debug build of the tests): m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
        // w −= step · m / (√v + ε).
        Span<float> scratch = m.Scratch;
        TensorPrimitives.Multiply(gradient, 1 - beta1, scratch);
        TensorPrimitives.MultiplyAdd(m.M, beta1, scratch, m.M);
        TensorPrimitives.Multiply(gradient, gradient, scratch);
        TensorPrimitives.Multiply(scratch, 1 - beta2, scratch);
        TensorPrimitives.MultiplyAdd(m.V, beta2, scratch, m.V);
        TensorPrimitives.Sqrt(m.V, scratch);
        TensorPrimitives.Add(scratch, epsilon, scratch);
        TensorPrimitives.Divide(m.M, scratch, scratch);
        TensorPrimitives.MultiplyAdd(scratch, -step, weights, weights);
    }
}
