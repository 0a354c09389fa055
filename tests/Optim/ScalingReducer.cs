using System.Numerics.Tensors;
using NanoNet.Optim;

namespace NanoNet.Tests.Optim;

/// <summary>
/// A stand-in for a data-parallel all-reduce: multiplies every gradient by a factor (½ is the mean of
/// two processes that happened to compute the same gradient plus zero), and records what it was given.
/// </summary>
internal sealed class ScalingReducer(float factor) : IGradientReducer
{
    /// <summary>Number of calls so far.</summary>
    public int Calls { get; private set; }

    /// <summary>Names of the parameters of the last call, in order (recorded only when asked, to keep steps allocation-free).</summary>
    public List<string?>? LastNames { get; init; }

    public void Reduce(IReadOnlyList<Tensor> parameters)
    {
        Calls++;
        LastNames?.Clear();
        for (int i = 0; i < parameters.Count; i++)
        {
            Tensor gradient = parameters[i].Grad!;
            TensorPrimitives.Multiply(gradient.Span, factor, gradient.Span);
            LastNames?.Add(parameters[i].Name);
        }
    }
}
