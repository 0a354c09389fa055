namespace NanoNet.Optim;

/// <summary>
/// Thrown by <see cref="Optimizer.Step"/> when a gradient holds NaN or infinite values: training has
/// diverged (or an op's gradient overflowed), and continuing would silently fill the weights with NaN.
/// </summary>
/// <remarks>
/// The check costs no extra pass: it rides in the pass that already reads every gradient (the global
/// norm when <see cref="Optimizer.GlobalClipNorm"/> is set, which catches it before any update;
/// otherwise the fused update itself). <c>Fit</c> turns it into a message naming the step and the layer.
/// </remarks>
public sealed class NonFiniteGradientException : ArithmeticException
{
    /// <summary>Creates the exception for the first parameter (in the order given to <see cref="Optimizer.Step"/>) whose gradient is not finite.</summary>
    public NonFiniteGradientException(Tensor parameter, string message) : base(message) => Parameter = parameter;

    /// <summary>The first parameter, in the order given to <see cref="Optimizer.Step"/>, whose gradient is not finite.</summary>
    public Tensor Parameter { get; }
}
