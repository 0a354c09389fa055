using NanoNet.Data;
using NanoNet.Losses;

namespace NanoNet.Layers;

/// <summary>Per-output results of one forward-and-loss pass (one object per model, reused every step).</summary>
internal sealed class StepResult(int outputs)
{
    /// <summary>The weighted total loss, the scalar backward starts from (null once back-propagated).</summary>
    public Tensor? Total;

    /// <summary>Each output's mean loss on the batch.</summary>
    public readonly float[] Losses = new float[outputs];

    /// <summary>Each classification output's number of correct predictions on the batch.</summary>
    public readonly int[] Correct = new int[outputs];

    /// <summary>The total loss as a number (kept after <see cref="Total"/> is released).</summary>
    public float TotalValue;
}

/// <summary>Sums of per-batch results over an epoch or an evaluation: mean losses and accuracies.</summary>
internal sealed class MetricTotals(IReadOnlyList<Loss> losses, string[] outputNames)
{
    private readonly double[] _lossSums = new double[losses.Count];
    private readonly long[] _correct = new long[losses.Count], _labels = new long[losses.Count];
    private double _totalSum;

    /// <summary>Examples seen.</summary>
    public long Examples { get; private set; }

    /// <summary>Adds one batch's results (each mean weighted by the batch size).</summary>
    public void Add(StepResult step, Dataset batch)
    {
        int size = batch.Count;
        _totalSum += (double)step.TotalValue * size;
        for (int o = 0; o < _lossSums.Length; o++)
        {
            _lossSums[o] += (double)step.Losses[o] * size;
            _correct[o] += step.Correct[o];
            _labels[o] += batch.Targets[o].Length; // one label per example, or per step for (N, T) targets
        }
        Examples += size;
    }

    /// <summary>Replaces the sums with their sums over the processes of <paramref name="group"/> (a collective call).</summary>
    public void SumAcross(IProcessGroup group)
    {
        int outputs = _lossSums.Length;
        var values = new double[2 + 3 * outputs]; // once per epoch
        values[0] = _totalSum;
        values[1] = Examples;
        for (int o = 0; o < outputs; o++)
        {
            values[2 + o] = _lossSums[o];
            values[2 + outputs + o] = _correct[o];
            values[2 + 2 * outputs + o] = _labels[o];
        }
        group.SumAcrossProcesses(values);
        _totalSum = values[0];
        Examples = (long)values[1];
        for (int o = 0; o < outputs; o++)
        {
            _lossSums[o] = values[2 + o];
            _correct[o] = (long)values[2 + outputs + o];
            _labels[o] = (long)values[2 + 2 * outputs + o];
        }
    }

    /// <summary>Mean total loss so far.</summary>
    public float MeanLoss => (float)(_totalSum / Math.Max(1, Examples));

    /// <summary>Accuracy of the first output so far, when its loss is a classification loss.</summary>
    public float? Accuracy => AccuracyOf(0);

    private float? AccuracyOf(int output) =>
        losses[output].IsClassification ? (float)_correct[output] / Math.Max(1, _labels[output]) : null;

    /// <summary>Per-output metrics named "{output}_loss" and "{output}_accuracy" (prefixed), only for several outputs.</summary>
    public Dictionary<string, float> PerOutput(string prefix = "")
    {
        var metrics = new Dictionary<string, float>();
        if (_lossSums.Length < 2)
            return metrics;
        for (int o = 0; o < _lossSums.Length; o++)
        {
            metrics[$"{prefix}{outputNames[o]}_loss"] = (float)(_lossSums[o] / Math.Max(1, Examples));
            if (AccuracyOf(o) is { } accuracy)
                metrics[$"{prefix}{outputNames[o]}_accuracy"] = accuracy;
        }
        return metrics;
    }

    /// <summary>The totals as an <see cref="Evaluation"/>.</summary>
    public Evaluation ToEvaluation() => new(MeanLoss, Accuracy) { Outputs = PerOutput() };
}
