namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// The checks the recurrent ops (<see cref="Lstm"/>, <see cref="Gru"/>, <see cref="SimpleRnn"/>) share: input
    /// (N, T, D) with T ≥ 1, a kernel (D, gates·U) and a recurrent kernel (U, gates·U); returns (N, T, D, U).
    /// </summary>
    private static (int N, int T, int D, int U) CheckRecurrentShapes(string op, int gates, Tensor x, Tensor kernel, Tensor recurrentKernel, Tensor? mask)
    {
        if (x.Rank != 3)
            throw new ArgumentException($"{op} expects input of shape (batch, time steps, features), got {Shapes.Format(x.Shape)}.");
        int n = x.Dim(0), t = x.Dim(1), d = x.Dim(2);
        if (kernel.Rank != 2 || kernel.Dim(0) != d || kernel.Dim(1) % gates != 0 || kernel.Dim(1) == 0)
            throw new ArgumentException($"{op} kernel must be ({d}, {(gates == 1 ? "" : $"{gates}·")}units) for input {Shapes.Format(x.Shape)}, got {Shapes.Format(kernel.Shape)}.");
        int u = kernel.Dim(1) / gates;
        if (recurrentKernel.Rank != 2 || recurrentKernel.Dim(0) != u || recurrentKernel.Dim(1) != gates * u)
            throw new ArgumentException($"{op} recurrent kernel must be ({u}, {gates * u}), got {Shapes.Format(recurrentKernel.Shape)}.");
        if (t < 1)
            throw new ArgumentException($"{op} needs at least one time step, got input {Shapes.Format(x.Shape)}.");
        if (mask is not null && (mask.Rank != 2 || mask.Dim(0) != n || mask.Dim(1) != t))
            throw new ArgumentException($"{op} mask must be ({n}, {t}) for input {Shapes.Format(x.Shape)}, got {Shapes.Format(mask.Shape)}.");
        return (n, t, d, u);
    }

    /// <summary>A per-sequence dropout mask must be (N, features).</summary>
    private static void CheckDropoutMask(string op, string what, Tensor? mask, int n, int features)
    {
        if (mask is not null && (mask.Rank != 2 || mask.Dim(0) != n || mask.Dim(1) != features))
            throw new ArgumentException($"{op} {what} mask must be ({n}, {features}), one row per sequence, got {Shapes.Format(mask.Shape)}.");
    }

    /// <summary>A given initial state must be (N, U), one row per sequence.</summary>
    private static void CheckInitialState(string op, string what, Tensor? state, int n, int u)
    {
        if (state is not null && (state.Rank != 2 || state.Dim(0) != n || state.Dim(1) != u))
            throw new ArgumentException($"{op} initial state {what} must be ({n}, {u}) (batch, units), got {Shapes.Format(state.Shape)}.");
    }

    /// <summary>The gradient to accumulate into for an optional input that requires one, or an empty span.</summary>
    private static Span<float> GradientOf(Tensor? t) => t is not null && t.RequiresGrad ? t.EnsureGrad().Span : default;

    /// <summary>The values of an optional tensor, or an empty span.</summary>
    private static ReadOnlySpan<float> SpanOf(Tensor? t) => t is null ? default : t.Span;
}

/// <summary>
/// What a recurrent op returns when its states are wanted (Keras' <c>return_state</c>): the usual output, the final
/// hidden state h (N, U), and for an LSTM the final cell state c (N, U).
/// </summary>
/// <param name="Output">The last h (N, U), or every step's (N, T, U) with return sequences.</param>
/// <param name="Hidden">The final hidden state (null when the states were not asked for).</param>
/// <param name="Cell">The final cell state of an LSTM (null otherwise).</param>
public readonly record struct RecurrentOutputs(Tensor Output, Tensor? Hidden, Tensor? Cell);
