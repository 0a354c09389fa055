namespace NanoNet.Optim;

/// <summary>
/// The pluggable piece of the training loop: turns each parameter's gradient into an update.
/// </summary>
/// <remarks>
/// The training loop calls <see cref="Step"/> once per mini-batch with the model's parameters (in the
/// same order every time). Subclasses implement <see cref="Update"/> for one parameter tensor; any
/// per-parameter state (velocity, squared-gradient averages) is kept per <c>slot</c>, the parameter's
/// index in that list, and allocated on the first step.
/// </remarks>
public abstract class Optimizer
{
    /// <summary>Creates an optimizer with the given base learning rate.</summary>
    protected Optimizer(float learningRate)
    {
        if (!(learningRate > 0f) || float.IsInfinity(learningRate))
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "The learning rate must be a positive finite number.");
        LearningRate = learningRate;
    }

    /// <summary>The base learning rate.</summary>
    public float LearningRate { get; set; }

    /// <summary>Number of steps taken so far.</summary>
    public long Iterations { get; private set; }

    /// <summary>Applies one update to every parameter that has a gradient.</summary>
    public void Step(IReadOnlyList<Tensor> parameters)
    {
        float learningRate = LearningRate;
        for (int slot = 0; slot < parameters.Count; slot++)
        {
            Tensor parameter = parameters[slot];
            if (parameter.Grad is { } gradient)
                Update(slot, parameter.Span, gradient.Span, learningRate);
        }
        Iterations++;
    }

    /// <summary>Updates one parameter tensor in place from its gradient.</summary>
    protected abstract void Update(int slot, Span<float> weights, ReadOnlySpan<float> gradient, float learningRate);

    /// <summary>Sets every parameter's gradient to zero (call between steps).</summary>
    public static void ZeroGradients(IReadOnlyList<Tensor> parameters)
    {
        foreach (Tensor p in parameters)
            p.ZeroGrad();
    }
}
