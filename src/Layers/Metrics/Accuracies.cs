using System.Numerics.Tensors;

namespace NanoNet.Metrics;

/// <summary>
/// The fraction of predictions p with (p &gt; threshold) equal to the 0/1 target, element by element
/// (Keras's <c>binary_accuracy</c>, threshold 0.5). State: correct, count.
/// </summary>
public sealed class BinaryAccuracy(float threshold = 0.5f, string name = "binary_accuracy") : Metric
{
    /// <summary>The decision threshold.</summary>
    public float Threshold { get; } = threshold;

    /// <inheritdoc />
    public override string Name { get; } = name;

    /// <inheritdoc />
    public override int StateSize => 2;

    /// <inheritdoc />
    public override void Update(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, int columns, Span<double> state) =>
        Update(predictions, targets, columns, default, state);

    /// <inheritdoc />
    public override void Update(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, int columns, ReadOnlySpan<float> sampleWeights, Span<double> state)
    {
        RequireDenseTargets(predictions, targets);
        var weights = new ExampleWeights(sampleWeights, predictions.Length, Name);
        double correct = 0, total = 0;
        for (int i = 0; i < predictions.Length; i++)
        {
            float w = weights[i];
            if ((predictions[i] > Threshold ? 1f : 0f) == targets[i])
                correct += w;
            total += w;
        }
        state[0] += correct;
        state[1] += total;
    }

    /// <inheritdoc />
    public override float Result(ReadOnlySpan<double> state) => Ratio(state[0], state[1]);
}

/// <summary>
/// The fraction of rows whose target class is among the <see cref="K"/> highest predictions: a row is
/// right when fewer than k classes score strictly higher than the target class (ties at the boundary count
/// as in, as TensorFlow's <c>in_top_k</c>). k = 1 is argmax accuracy. State: correct, rows.
/// </summary>
public abstract class TopKAccuracyBase : Metric
{
    private protected TopKAccuracyBase(int k, string name)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        K = k;
        Name = name;
    }

    /// <summary>How many of the highest predictions count.</summary>
    public int K { get; }

    /// <inheritdoc />
    public override string Name { get; }

    /// <inheritdoc />
    public override int StateSize => 2;

    /// <inheritdoc />
    public override bool NeedsActivatedOutputs => false; // ranks are unchanged by softmax

    /// <summary>The target class of row <paramref name="row"/>.</summary>
    private protected abstract int TargetClass(ReadOnlySpan<float> targets, int row, int columns);

    /// <summary>Checks the targets' size.</summary>
    private protected abstract void CheckTargets(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, int columns);

    /// <inheritdoc />
    public override void Update(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, int columns, Span<double> state) =>
        Update(predictions, targets, columns, default, state);

    /// <inheritdoc />
    public override void Update(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, int columns, ReadOnlySpan<float> sampleWeights, Span<double> state)
    {
        CheckTargets(predictions, targets, columns);
        int rows = predictions.Length / columns;
        var weights = new ExampleWeights(sampleWeights, rows, Name);
        double correct = 0, total = 0;
        for (int r = 0; r < rows; r++)
        {
            float w = weights[r];
            total += w;
            ReadOnlySpan<float> row = predictions.Slice(r * columns, columns);
            int target = TargetClass(targets, r, columns);
            if ((uint)target >= (uint)columns)
                continue; // not a class of this output: wrong
            if (K == 1)
            {
                if (TensorPrimitives.IndexOfMax(row) == target)
                    correct += w;
                continue;
            }
            float score = row[target];
            int higher = 0;
            foreach (float value in row)
                if (value > score)
                    higher++;
            if (higher < K)
                correct += w;
        }
        state[0] += correct;
        state[1] += total;
    }

    /// <inheritdoc />
    public override float Result(ReadOnlySpan<double> state) => Ratio(state[0], state[1]);
}

/// <summary>Argmax accuracy against class-id targets (Keras's <c>sparse_categorical_accuracy</c>).</summary>
public sealed class SparseCategoricalAccuracy(string name = "sparse_categorical_accuracy") : SparseTopKCategoricalAccuracy(1, name);

/// <summary>Argmax accuracy against one-hot targets (Keras's <c>categorical_accuracy</c>).</summary>
public sealed class CategoricalAccuracy(string name = "categorical_accuracy") : TopKCategoricalAccuracy(1, name);

/// <summary>Top-k accuracy against one-hot targets (Keras's <c>top_k_categorical_accuracy</c>, k = 5).</summary>
public class TopKCategoricalAccuracy(int k = 5, string name = "top_k_categorical_accuracy") : TopKAccuracyBase(k, name)
{
    private protected override int TargetClass(ReadOnlySpan<float> targets, int row, int columns) =>
        TensorPrimitives.IndexOfMax(targets.Slice(row * columns, columns));

    private protected override void CheckTargets(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, int columns) =>
        RequireDenseTargets(predictions, targets);
}

/// <summary>Top-k accuracy against class-id targets (Keras's <c>sparse_top_k_categorical_accuracy</c>, k = 5).</summary>
public class SparseTopKCategoricalAccuracy(int k = 5, string name = "sparse_top_k_categorical_accuracy") : TopKAccuracyBase(k, name)
{
    private protected override int TargetClass(ReadOnlySpan<float> targets, int row, int columns)
    {
        float label = targets[row];
        return label == MathF.Floor(label) && label >= 0 && label < columns ? (int)label : -1;
    }

    private protected override void CheckTargets(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, int columns) =>
        RequireSparseTargets(predictions, targets, columns);
}
