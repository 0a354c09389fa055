using NanoNet;
using NanoNet.Layers;

/// <summary>
/// Global average pooling, written here as an example of a custom layer: (N, H, W, C) images become
/// (N, C) vectors, the mean of each channel over height and width. No weights; the backward pass comes
/// from the tape (Ops.Mean records its own), so the layer is just a shape rule and one op.
/// </summary>
internal sealed class GlobalAveragePooling(string? name = null) : Layer(name)
{
    /// <summary>Makes the layer loadable by <c>Model.Load</c> (its config is the default one: its type name and name).</summary>
    public static void Register()
    {
        if (!LayerRegistry.IsRegistered(nameof(GlobalAveragePooling)))
            LayerRegistry.Register(nameof(GlobalAveragePooling), config => new GlobalAveragePooling(config.GetString("name")));
    }

    /// <inheritdoc />
    protected override string DefaultName => "global_average_pooling";

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape)
    {
        if (inputShape.Length != 3)
            throw new ArgumentException($"Layer '{Name}' (GlobalAveragePooling) expects images of shape (height, width, channels), got per-example shape {Shapes.Format(inputShape)}.");
        return [inputShape[2]];
    }

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training) => Ops.Mean(x, [1, 2]); // axis 0 is the batch
}
