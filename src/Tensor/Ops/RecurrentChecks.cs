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

    /// <summary>The values of an optional tensor, or an empty span.</summary>
    private static ReadOnlySpan<float> SpanOf(Tensor? t) => t is null ? default : t.Span;
}
