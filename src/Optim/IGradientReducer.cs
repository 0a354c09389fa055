namespace NanoNet.Optim;

/// <summary>
/// A hook that combines gradients before an <see cref="Optimizer"/> uses them: set it as
/// <see cref="Optimizer.GradientReducer"/>. The intended user is data-parallel training, where each
/// process computes gradients on its share of the mini-batch and a reducer all-reduces and averages
/// them, so every process takes the same step. NanoNet itself knows nothing of such libraries: this
/// interface is the whole contract.
/// </summary>
/// <remarks>
/// <see cref="Optimizer.Step"/> runs, in this order: <b>reduce</b> (this hook) → <b>clip</b> (global
/// norm, then by value) → <b>regularize</b> (L2, L1) → <b>update</b>. Reducing first means clipping
/// and regularization see the combined gradient, exactly as a single process with the whole
/// mini-batch would.
/// </remarks>
public interface IGradientReducer
{
    /// <summary>
    /// Replaces each parameter's <see cref="Tensor.Grad"/> values in place with the reduced ones (e.g.
    /// the mean over processes). Must not change their lengths.
    /// </summary>
    /// <param name="parameters">
    /// The parameters of this step that have a gradient, in the order given to
    /// <see cref="Optimizer.Step"/>. In data-parallel training every process must pass the same
    /// parameters in the same order, so that their collective calls line up. The list is only valid
    /// during the call (it is reused by the next step).
    /// </param>
    void Reduce(IReadOnlyList<Tensor> parameters);

    /// <summary>
    /// Replaces each value with its sum over the processes. The values are a lazy optimizer's row masks
    /// (<see cref="Optimizer.Lazy"/>): 1 for a row of a parameter this process's gradient touched, 0 for one it did
    /// not, so that every process updates a row iff any process touched it. <see cref="Optimizer.Step"/> calls it
    /// right after <see cref="Reduce"/>, on every process with the same length (a collective call, like
    /// <see cref="Reduce"/>), and only for a lazy optimizer.
    /// </summary>
    /// <remarks>
    /// A reducer that sums across processes must implement it; the default throws, so a lazy optimizer never runs
    /// with rows some other process touched left out. A reducer that only transforms this process's gradients
    /// (no other process) implements it as a method that returns the values unchanged.
    /// </remarks>
    /// <exception cref="NotSupportedException">This reducer does not combine touched rows (the default).</exception>
    void SumTouchedRows(Span<float> touchedRows) =>
        throw new NotSupportedException(
            $"{GetType().Name} does not implement IGradientReducer.SumTouchedRows, which a lazy optimizer needs to update the rows any process touched. " +
            "Implement it (sum the values across the processes), or use the optimizer without lazy: true.");
}
