using System.Globalization;

namespace NanoNet.Layers;

/// <summary>
/// What Keras' recurrent layers (<see cref="Lstm"/>, <see cref="Gru"/>, <see cref="SimpleRnn"/>) share: units,
/// <c>return_sequences</c>, <c>stateful</c>, <c>go_backwards</c>, and <c>dropout</c> / <c>recurrent_dropout</c>
/// with their mask generator. <see cref="Bidirectional"/> wraps any of them.
/// </summary>
/// <remarks>
/// <para><c>dropout</c> and <c>recurrentDropout</c> follow Keras: while training, each sequence of the batch draws
/// one input mask (D values) and one recurrent mask (units values), used at every step; the inputs, and h_{t−1}
/// before the recurrent product, are multiplied by them (inverted dropout: kept values are scaled by 1/(1 − rate)).
/// They come from the layer's own <see cref="RandomStream"/> (seed <see cref="Seed"/>, stream
/// <see cref="RandomStreamIds.RecurrentDropout"/>), input mask first, so a run is reproducible and bit-identical at
/// any thread count; <see cref="RandomState"/> is saved and restored like <see cref="Layers.Dropout.RandomState"/>.</para>
/// <para><c>goBackwards</c> reads the sequence last step first; with <c>returnSequences</c> the steps come out in
/// that (reversed) order, as in Keras. Masked steps (e.g. padding after <c>Embedding(maskZero: true)</c>) carry the
/// state, and with <c>returnSequences</c> output the previous output; the output keeps the input's mask.</para>
/// <para>With <c>stateful</c> the final state of each batch is the initial state of the next, row by row
/// (truncated back-propagation through time; no gradient crosses a batch boundary). Call <c>ResetStates</c>
/// where the stream restarts; a batch of a different size starts from zero.</para>
/// </remarks>
public abstract class RecurrentLayer : Layer
{
    private readonly RandomStream _random;

    /// <summary>Checks and keeps the shared arguments.</summary>
    private protected RecurrentLayer(string typeName, int units, bool returnSequences, bool stateful, string? name, float dropout,
        float recurrentDropout, bool goBackwards, int seed) : base(name)
    {
        Units = units > 0 ? units : throw new ArgumentOutOfRangeException(nameof(units), units, $"{typeName} needs at least one unit.");
        ReturnSequences = returnSequences;
        Stateful = stateful;
        Dropout = CheckRate(dropout, nameof(dropout));
        RecurrentDropout = CheckRate(recurrentDropout, nameof(recurrentDropout));
        GoBackwards = goBackwards;
        Seed = seed;
        _random = new RandomStream((uint)seed, RandomStreamIds.RecurrentDropout);
    }

    /// <summary>Hidden units (the output's last axis).</summary>
    public int Units { get; }

    /// <summary>Whether every step's output is returned, (N, T, units), rather than the last, (N, units).</summary>
    public bool ReturnSequences { get; }

    /// <summary>Whether the state carries over from one batch to the next.</summary>
    public bool Stateful { get; }

    /// <summary>Fraction of the inputs dropped while training (Keras' <c>dropout</c>).</summary>
    public float Dropout { get; }

    /// <summary>Fraction of the recurrent state dropped while training (Keras' <c>recurrent_dropout</c>).</summary>
    public float RecurrentDropout { get; }

    /// <summary>Whether the sequence is processed last step first (Keras' <c>go_backwards</c>).</summary>
    public bool GoBackwards { get; }

    /// <summary>The seed of the dropout masks' generator.</summary>
    public int Seed { get; }

    /// <summary>The dropout masks' generator state, for a checkpoint to save and restore.</summary>
    public RandomStreamState RandomState
    {
        get => _random.State;
        set => _random.Restore(value);
    }

    /// <summary>Checks the per-example input is (time steps, features) and returns the features.</summary>
    private protected int Features(int[] inputShape, string typeName) => inputShape.Length == 2 ? inputShape[1]
        : throw new ArgumentException($"Layer '{Name}' ({typeName}) needs per-example input (time steps, features), got {Shapes.Format(inputShape)}.");

    /// <summary>The output shape for a (time steps, features) input.</summary>
    private protected int[] OutputShapeFor(int[] inputShape) => ReturnSequences ? [inputShape[0], Units] : [Units];

    /// <summary>While training, draws this batch's input mask (N, D) then recurrent mask (N, units); null where the rate is 0 or not training.</summary>
    private protected (Tensor? Input, Tensor? Recurrent) DropoutMasks(Tensor x, bool training) => training
        ? (Ops.DropoutMask(x.Dim(0), x.Dim(2), Dropout, _random), Ops.DropoutMask(x.Dim(0), Units, RecurrentDropout, _random))
        : (null, null);

    /// <summary>The output keeps the input's mask when it has every step (the steps stay the same steps).</summary>
    private protected Tensor WithMask(Tensor y, Tensor x)
    {
        if (ReturnSequences)
            y.Mask = x.Mask;
        return y;
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().Set("units", Units)
        .Set("return_sequences", ReturnSequences).Set("stateful", Stateful).Set("dropout", Dropout)
        .Set("recurrent_dropout", RecurrentDropout).Set("go_backwards", GoBackwards).Set("seed", Seed);

    /// <inheritdoc />
    public override string Describe() => $"units={Units}"
        + (ReturnSequences ? ", return_sequences" : "") + (Stateful ? ", stateful" : "") + (GoBackwards ? ", go_backwards" : "")
        + (Dropout > 0f ? ", dropout=" + Dropout.ToString(CultureInfo.InvariantCulture) : "")
        + (RecurrentDropout > 0f ? ", recurrent_dropout=" + RecurrentDropout.ToString(CultureInfo.InvariantCulture) : "");

    private static float CheckRate(float rate, string parameter) => rate >= 0f && rate < 1f ? rate
        : throw new ArgumentOutOfRangeException(parameter, rate, "A dropout rate must be in [0, 1).");
}
