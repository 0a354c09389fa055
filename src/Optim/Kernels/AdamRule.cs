using NanoNet.Kernels;
using System.Runtime.CompilerServices;
namespace NanoNet.Optim.Kernels;

/// <summary>
/// The element formula shared by <see cref="Adam"/> and <see cref="AdamW"/>: optional decoupled decay,
/// moment updates, optional AMSGrad maximum, and the bias-corrected step (see <see cref="Adam"/>).
/// </summary>
/// <param name="beta1">β₁.</param>
/// <param name="beta2">β₂.</param>
/// <param name="stepSize">α_t = η·√(1−β₂ᵗ)/(1−β₁ᵗ), the bias-corrected rate of this step.</param>
/// <param name="epsilon">ε (added to √v).</param>
/// <param name="decay">η·λ for AdamW's decoupled decay θ ← θ − η·λ·θ; 0 for Adam.</param>
/// <param name="amsgrad">Whether to divide by the running maximum of v.</param>
internal readonly struct AdamRule(float beta1, float beta2, float stepSize, float epsilon, float decay, bool amsgrad) : IUpdateRule
{
    /// <summary>Builds the rule for step number <paramref name="step"/> (1-based), computing the bias correction in double.</summary>
    public static AdamRule ForStep(long step, float learningRate, float beta1, float beta2, float epsilon, float decay, bool amsgrad)
    {
        double correction1 = 1.0 - Math.Pow(beta1, step);
        double correction2 = 1.0 - Math.Pow(beta2, step);
        float stepSize = (float)(learningRate * Math.Sqrt(correction2) / correction1);
        return new AdamRule(beta1, beta2, stepSize, epsilon, decay, amsgrad);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]

    public void Apply<T>(ref T weight, T gradient, ref T m, ref T v, ref T vMax) where T : struct, ILanes<T>
    {
        if (decay != 0f)
            weight -= T.Create(decay) * weight;
        m = T.Create(beta1) * m + T.Create(1f - beta1) * gradient;
        v = T.Create(beta2) * v + T.Create(1f - beta2) * (gradient * gradient);
        T secondMoment = v;
        if (amsgrad)
        {
            vMax = T.Max(vMax, v);
            secondMoment = vMax;
        }
        weight -= T.Create(stepSize) * m / (T.Sqrt(secondMoment) + T.Create(epsilon));
    }
}
