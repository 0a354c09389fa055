using System.Globalization;

namespace NanoNet;

/// <summary>
/// A weight penalty added to the loss (Keras's <c>kernel_regularizer=L2(1e-4)</c>): l1·Σ|w| + l2·Σw². It
/// shows in the reported loss and its gradient l1·sign(w) + 2·l2·w flows into the weight through the
/// backward pass (<see cref="Ops.WeightPenalty"/>). Unlike the optimizer's decoupled L1/L2 option, which
/// changes the update and not the loss, this is part of the objective, as in Keras.
/// </summary>
public sealed class Regularizer
{
    private Regularizer(float l1, float l2)
    {
        if (!(l1 >= 0f) || !(l2 >= 0f) || float.IsInfinity(l1) || float.IsInfinity(l2))
            throw new ArgumentOutOfRangeException(nameof(l1), $"Regularization factors must be finite and non-negative, got l1 = {l1}, l2 = {l2}.");
        L1Factor = l1;
        L2Factor = l2;
    }

    /// <summary>The factor of Σ|w|.</summary>
    public float L1Factor { get; }

    /// <summary>The factor of Σw².</summary>
    public float L2Factor { get; }

    /// <summary>l1·Σ|w| (Keras's default factor 0.01).</summary>
    public static Regularizer L1(float l1 = 0.01f) => new(l1, 0f);

    /// <summary>l2·Σw² (Keras's default factor 0.01).</summary>
    public static Regularizer L2(float l2 = 0.01f) => new(0f, l2);

    /// <summary>l1·Σ|w| + l2·Σw² (Keras's <c>L1L2</c>, defaults 0).</summary>
    public static Regularizer L1L2(float l1 = 0f, float l2 = 0f) => new(l1, l2);

    /// <summary>The penalty of <paramref name="weight"/>, a scalar recorded for backward.</summary>
    public Tensor Penalty(Tensor weight) => Ops.WeightPenalty(weight, L1Factor, L2Factor);

    /// <summary>The form saved in a layer's config: "l1(0.01)", "l2(0.0001)" or "l1_l2(0.01,0.001)".</summary>
    public override string ToString() =>
        L2Factor == 0f ? $"l1({Format(L1Factor)})"
        : L1Factor == 0f ? $"l2({Format(L2Factor)})"
        : $"l1_l2({Format(L1Factor)},{Format(L2Factor)})";

    /// <summary>Reads <see cref="ToString"/>'s form back.</summary>
    /// <exception cref="ArgumentException">Unknown name or parameters.</exception>
    public static Regularizer Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        (string name, float[] p) = ConfigText.NameAndParameters(text, "regularizer");
        return (name.ToLowerInvariant(), p.Length) switch
        {
            ("l1", 0) => L1(),
            ("l1", 1) => L1(p[0]),
            ("l2", 0) => L2(),
            ("l2", 1) => L2(p[0]),
            ("l1_l2", 2) => L1L2(p[0], p[1]),
            _ => throw new ArgumentException($"Unknown regularizer \"{text}\"; known: l1(factor), l2(factor), l1_l2(l1,l2).", nameof(text)),
        };
    }

    private static string Format(float value) => value.ToString(CultureInfo.InvariantCulture);
}
