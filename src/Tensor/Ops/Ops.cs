namespace NanoNet;

/// <summary>
/// The differentiable operations. Each lives in its own file under <c>Ops/</c> with its forward
/// function and its tape entry (the backward pass) side by side; the heavy lifting is done by the
/// span kernels in <c>NanoNet.Kernels</c>. An op records itself with <see cref="Autograd.Tape.Record(Autograd.TapeEntry, Tensor)"/>
/// only when one of its inputs requires a gradient and recording is on.
/// </summary>
public static partial class Ops;
