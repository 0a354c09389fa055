using NanoNet.Data;
using NanoNet.Losses;

namespace NanoNet.Layers;

public partial class Model
{
    /// <summary>
    /// Checks, once before training, that every target a class-id loss will read is a class id the matching
    /// output can score: an O(N) scan that names the data-set row (and, when the <see cref="Dataset"/> knows
    /// it, the file and record it came from) rather than the row of whichever batch it lands in.
    /// </summary>
    /// <param name="data">The training or validation set.</param>
    /// <param name="what">"training" or "validation", for the message.</param>
    /// <exception cref="ArgumentException">A label is not an integer in [0, classes) of its output.</exception>
    private void CheckClassTargets(Dataset data, string what)
    {
        IReadOnlyList<Loss> losses = Losses;
        for (int output = 0; output < losses.Count && output < data.Targets.Count; output++)
        {
            if (losses[output] is not SparseCategoricalCrossEntropy)
                continue;
            ReadOnlySpan<int> outputShape = _outputs[output].Shape;
            if (outputShape.Length == 0)
                continue;
            int classes = outputShape[^1];
            Tensor targets = data.Targets[output];
            ReadOnlySpan<float> labels = targets.Span;
            int perRow = data.Count == 0 ? 0 : labels.Length / data.Count; // 1, or T for sequence targets (N, T)
            for (int i = 0; i < labels.Length; i++)
            {
                float label = labels[i];
                if (label >= 0 && label < classes && label == MathF.Floor(label))
                    continue;
                int row = i / Math.Max(1, perRow);
                string position = perRow > 1 ? $", position {i % perRow}" : "";
                throw new ArgumentException(
                    $"The {what} set's target {output} ({_outputs[output].Source}), {data.RowName(row)}{position}: label {label} " +
                    $"is not a class id in [0, {classes}) for this output of {classes} units.");
            }
        }
    }
}
