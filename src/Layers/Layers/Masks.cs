using System.Runtime.CompilerServices;

namespace NanoNet.Layers;

/// <summary>
/// Keras-style mask propagation without changing the layer interface: a layer that produces a mask
/// (an <see cref="Embedding"/> with maskZero) attaches it to its output tensor, and a layer that uses
/// one (<see cref="Lstm"/>) looks it up on its input. The table holds its keys weakly, so a mask lives
/// exactly as long as the tensor it belongs to.
/// </summary>
internal static class Masks
{
    private static readonly ConditionalWeakTable<Tensor, Tensor> Table = new();

    /// <summary>Records <paramref name="mask"/> (N, T) as the mask of <paramref name="output"/>.</summary>
    public static void Attach(Tensor output, Tensor mask) => Table.AddOrUpdate(output, mask);

    /// <summary>The mask attached to <paramref name="input"/>, or null.</summary>
    public static Tensor? Of(Tensor input) => Table.TryGetValue(input, out Tensor? mask) ? mask : null;
}
