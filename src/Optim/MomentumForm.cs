namespace NanoNet.Optim;

/// <summary>How <see cref="Momentum"/> accumulates gradients into its velocity v (θ ← θ − η·v in both).</summary>
public enum MomentumForm
{
    /// <summary>
    /// v ← β·v + g: the velocity sums past gradients (PyTorch's <c>SGD(momentum=β)</c>; with a constant
    /// rate also Keras's <c>SGD(momentum=β)</c>, whose velocity is −η times this one). Steady-state step η·g/(1−β).
    /// </summary>
    Classical,

    /// <summary>
    /// v ← β·v + (1−β)·g: the velocity is an exponential moving average of gradients (v₀ = 0), so the
    /// steady-state step is η·g, the same size as plain SGD.
    /// </summary>
    ExponentialAverage,
}
