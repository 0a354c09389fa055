namespace NanoNet.Optim.Kernels;

/// <summary>
/// Elements [<see cref="Start"/>, <see cref="Start"/> + <see cref="Length"/>) of a parameter and of its gradient and
/// state buffers: the part <see cref="FusedUpdate"/> updates. A dense step passes one range covering the parameter; a
/// sparse-row step (an embedding's touched rows, <see cref="Optimizer.Lazy"/>) one range per run of consecutive rows.
/// </summary>
internal readonly record struct ElementRange(int Start, int Length);
