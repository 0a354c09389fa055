namespace NanoNet.Autograd;

/// <summary>
/// The define-by-run record of differentiable operations, in the order they ran.
/// </summary>
/// <remarks>
/// Each op that has an input requiring a gradient appends a <see cref="TapeEntry"/> holding what its
/// backward pass needs. <see cref="Backward"/> seeds ∂loss/∂loss = 1 and runs the entries in reverse
/// order (a valid topological order, since an entry can only use tensors created before it), each
/// accumulating into its inputs' gradients. The tape is then cleared, ready for the next step.
/// Every thread has its own current tape.
/// </remarks>
public sealed class Tape
{
    [ThreadStatic] private static Tape? t_current;
    [ThreadStatic] private static int t_noGradDepth;

    private readonly List<TapeEntry> _entries = [];

    /// <summary>This thread's tape.</summary>
    public static Tape Current => t_current ??= new Tape();

    /// <summary>Whether ops record themselves (false inside <see cref="NoGrad"/>).</summary>
    public static bool IsRecording => t_noGradDepth == 0;

    /// <summary>Number of entries recorded since the last backward pass or <see cref="Clear"/>.</summary>
    public int Count => _entries.Count;

    /// <summary>
    /// A scope in which ops record nothing (inference, evaluation): <c>using (Tape.NoGrad()) { ... }</c>.
    /// </summary>
    public static NoGradScope NoGrad()
    {
        t_noGradDepth++;
        return new NoGradScope();
    }

    /// <summary>True when an op with these inputs must record itself.</summary>
    internal static bool ShouldRecord(Tensor a) => t_noGradDepth == 0 && a.RequiresGrad;

    internal static bool ShouldRecord(Tensor a, Tensor b) => t_noGradDepth == 0 && (a.RequiresGrad || b.RequiresGrad);

    /// <summary>Appends an entry and marks its output as requiring a gradient.</summary>
    internal void Record(TapeEntry entry)
    {
        entry.Output.RequiresGrad = true;
        _entries.Add(entry);
    }

    /// <summary>Back-propagates from the scalar <paramref name="loss"/>, then clears the tape.</summary>
    public void Backward(Tensor loss)
    {
        ArgumentNullException.ThrowIfNull(loss);
        if (loss.Length != 1)
            throw new InvalidOperationException($"Backward() starts from a scalar loss, but the tensor has shape {Shapes.Format(loss.Shape)}.");
        if (!loss.RequiresGrad)
            throw new InvalidOperationException("Backward(): the loss does not depend on any tensor that requires a gradient (was it computed under Tape.NoGrad()?).");
        loss.EnsureGrad().Span.Fill(1f);
        try
        {
            for (int i = _entries.Count - 1; i >= 0; i--)
            {
                TapeEntry entry = _entries[i];
                if (entry.Output.Grad is not null)
                    entry.Backward(entry.Output.Grad);
            }
        }
        finally
        {
            Clear();
        }
    }

    /// <summary>Forgets every recorded entry (their tensors become garbage unless referenced elsewhere).</summary>
    public void Clear() => _entries.Clear();

    /// <summary>Ends a no-grad scope.</summary>
    public readonly struct NoGradScope : IDisposable
    {
        /// <summary>Leaves the scope.</summary>
        public void Dispose() => t_noGradDepth--;
    }
}

/// <summary>
/// One recorded op: its output and what it needs to push the output's gradient back to its inputs.
/// </summary>
public abstract class TapeEntry
{
    /// <summary>Creates an entry for <paramref name="output"/>.</summary>
    protected TapeEntry(Tensor output) => Output = output;

    /// <summary>The tensor the op produced.</summary>
    public Tensor Output { get; }

    /// <summary>Accumulates ∂loss/∂input into each input that requires a gradient, given dY = ∂loss/∂output.</summary>
    public abstract void Backward(Tensor dY);
}
