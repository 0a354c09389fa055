using System.Globalization;

namespace NanoNet.Layers;

/// <summary>The arguments the recurrent layers (<see cref="Lstm"/>, <c>Gru</c>, <c>SimpleRnn</c>) share: checks and summary text.</summary>
internal static class RecurrentArguments
{
    /// <summary>A dropout rate must be in [0, 1).</summary>
    public static float Check(float rate, string parameter) => rate >= 0f && rate < 1f ? rate
        : throw new ArgumentOutOfRangeException(parameter, rate, "A dropout rate must be in [0, 1).");

    /// <summary>The summary's description after the units, e.g. ", return_sequences, dropout=0.2".</summary>
    public static string Describe(bool returnSequences, bool stateful, bool goBackwards, float dropout, float recurrentDropout) =>
        (returnSequences ? ", return_sequences" : "") + (stateful ? ", stateful" : "") + (goBackwards ? ", go_backwards" : "")
        + (dropout > 0f ? ", dropout=" + dropout.ToString(CultureInfo.InvariantCulture) : "")
        + (recurrentDropout > 0f ? ", recurrent_dropout=" + recurrentDropout.ToString(CultureInfo.InvariantCulture) : "");
}
