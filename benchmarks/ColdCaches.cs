namespace NanoNet.Benchmarks;

/// <summary>
/// Evicts the caches before a timed call by copying 64 MB into another 64 MB (twice the largest L3 we run on), so the
/// call's operands come from memory, as in a training step where the other layers' passes run in between. A disabled
/// instance allocates nothing and does nothing (the warm timings).
/// </summary>
internal sealed class ColdCaches(bool enabled)
{
    private const int Floats = 16 << 20;
    private readonly float[] _from = enabled ? new float[Floats] : [], _to = enabled ? new float[Floats] : [];

    /// <summary>Streams the 64 MB copy (nothing when disabled).</summary>
    public void Evict() => _from.AsSpan().CopyTo(_to);
}
