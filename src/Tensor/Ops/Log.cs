using NanoNet.Diagnostics;
using NanoNet.Autograd;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// y = log(max(x, ε)): the natural log with inputs clipped below at ε (1e-7, as Keras clips
    /// probabilities) so it never returns −∞. Backward: dX += dY / x where x &gt; ε, else 0.
    /// </summary>
    public static Tensor Log(Tensor x, float epsilon = 1e-7f)
    {
        long started = Profiler.Start();
        var y = Tensor.EmptyLike(x);
        ReadOnlySpan<float> xs = x.Span;
        Span<float> ys = y.Span;
        for (int i = 0; i < xs.Length; i++)
            ys[i] = MathF.Log(MathF.Max(xs[i], epsilon));
        if (Tape.ShouldRecord(x))
            Tape.Record(LogEntry.Rent(y, x, epsilon), x);
        Profiler.Stop("Log", started, 0);
        return y;
    }

    private sealed class LogEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor x = null!;
        private float epsilon;

        public static LogEntry Rent(Tensor y, Tensor x, float epsilon)
        {
            LogEntry entry = Rent<LogEntry>(y);
            (entry.x, entry.epsilon) = (x, epsilon);
            return entry;
        }

        public override void Backward(Tensor dY)
        {
            ReadOnlySpan<float> xs = x.Span, dy = dY.Span;
            Span<float> dx = x.EnsureGrad().Span;
            for (int i = 0; i < xs.Length; i++)
                if (xs[i] > epsilon)
                    dx[i] += dy[i] / xs[i];
        }
    }
}
