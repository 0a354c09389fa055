using NanoNet.Data;
using NanoNet.Losses;
using NanoNet.Metrics;

namespace NanoNet.Layers;

/// <summary>
/// Which metrics each output reports, fixed at compile time: first the loss's accuracy (named "accuracy",
/// for a classification loss: argmax against class ids or one-hot targets, or a 0.5 threshold for binary
/// cross-entropy, as Keras resolves "accuracy"), then the compiled metrics, then the weighted metrics, each
/// with its slice of the output's state array. Only the weighted metrics see the sample weights (Keras's
/// <c>metrics=</c> against <c>weighted_metrics=</c>); a weighted metric whose name an unweighted one already
/// has is reported as "weighted_{name}", as Keras 3 names it.
/// </summary>
internal sealed class MetricPlan
{
    public MetricPlan(IReadOnlyList<Loss> losses, IReadOnlyList<Metric> metrics, string[] outputNames)
        : this(losses, metrics, [], outputNames) { }

    public MetricPlan(IReadOnlyList<Loss> losses, IReadOnlyList<Metric> metrics, IReadOnlyList<Metric> weightedMetrics, string[] outputNames)
    {
        int outputs = losses.Count;
        Metrics = new Metric[outputs][];
        Weighted = new bool[outputs][];
        Offsets = new int[outputs][];
        StateSizes = new int[outputs];
        HasAccuracy = new bool[outputs];
        NeedsActivatedOutputs = new bool[outputs];
        Names = new string[outputs][];
        for (int o = 0; o < outputs; o++)
        {
            Metric? accuracy = AccuracyFor(losses[o]);
            HasAccuracy[o] = accuracy is not null;
            Metrics[o] = accuracy is null ? [.. metrics, .. weightedMetrics] : [accuracy, .. metrics, .. weightedMetrics];
            int unweighted = Metrics[o].Length - weightedMetrics.Count;
            Weighted[o] = [.. Enumerable.Range(0, Metrics[o].Length).Select(m => m >= unweighted)];
            Offsets[o] = new int[Metrics[o].Length];
            for (int m = 0; m < Metrics[o].Length; m++)
            {
                Offsets[o][m] = StateSizes[o];
                StateSizes[o] += Metrics[o][m].StateSize;
                NeedsActivatedOutputs[o] |= Metrics[o][m].NeedsActivatedOutputs;
            }
            // One output: Keras's plain names ("auc"); several: prefixed by the output ("dense_1_auc").
            string prefix = outputs == 1 ? "" : $"{outputNames[o]}_";
            var names = new List<string>();
            for (int m = 0; m < Metrics[o].Length; m++)
            {
                string name = prefix + Metrics[o][m].Name;
                names.Add(Weighted[o][m] && names.Contains(name) ? $"{prefix}weighted_{Metrics[o][m].Name}" : name);
            }
            Names[o] = [.. names];
        }
        foreach (IGrouping<string, string> clash in Names.SelectMany(n => n).GroupBy(n => n).Where(g => g.Count() > 1))
            throw new ArgumentException($"Two metrics would both be reported as '{clash.Key}'; give one a different name.");
    }

    /// <summary>Per output and metric, whether it is a weighted metric (it sees the batch's sample weights).</summary>
    public bool[][] Weighted { get; }

    /// <summary>Per output, its metrics (the accuracy first when <see cref="HasAccuracy"/>).</summary>
    public Metric[][] Metrics { get; }

    /// <summary>Per output and metric, where the metric's state starts in the output's state array.</summary>
    public int[][] Offsets { get; }

    /// <summary>Per output, the length of its state array.</summary>
    public int[] StateSizes { get; }

    /// <summary>Per output, whether its first metric is the loss's accuracy.</summary>
    public bool[] HasAccuracy { get; }

    /// <summary>Per output, whether a metric needs the output's activation applied (see <see cref="Metric.NeedsActivatedOutputs"/>).</summary>
    public bool[] NeedsActivatedOutputs { get; }

    /// <summary>Per output and metric, the name in the history (without "val_").</summary>
    public string[][] Names { get; }

    /// <summary>
    /// Adds one batch of one output to <paramref name="state"/>: the weighted metrics with
    /// <paramref name="sampleWeights"/> (one per example, or null), the others without.
    /// </summary>
    public void Update(int output, Tensor predictions, Tensor targets, Tensor? sampleWeights, double[] state)
    {
        int columns = predictions.Rank <= 1 ? 1 : predictions.Dim(-1);
        Metric[] metrics = Metrics[output];
        ReadOnlySpan<float> weights = sampleWeights is null ? default : sampleWeights.Span;
        for (int m = 0; m < metrics.Length; m++)
        {
            Span<double> slice = state.AsSpan(Offsets[output][m], metrics[m].StateSize);
            if (Weighted[output][m])
                metrics[m].Update(predictions.Span, targets.Span, columns, weights, slice);
            else
                metrics[m].Update(predictions.Span, targets.Span, columns, slice);
        }
    }

    /// <summary>The value of metric <paramref name="metric"/> of an output from its summed state.</summary>
    public float Result(int output, int metric, double[] state) =>
        Metrics[output][metric].Result(state.AsSpan(Offsets[output][metric], Metrics[output][metric].StateSize));

    /// <summary>The accuracy Keras's "accuracy" stands for with this loss, or null for a loss that is not a classification loss.</summary>
    private static Metric? AccuracyFor(Loss loss) => loss switch
    {
        BinaryCrossEntropy => new BinaryAccuracy(name: "accuracy"),
        CategoricalCrossEntropy => new CategoricalAccuracy("accuracy"),
        { IsClassification: true } => new SparseCategoricalAccuracy("accuracy"),
        _ => null,
    };
}

/// <summary>Per-output results of one forward-and-loss pass (one object per graph pass, reused every step).</summary>
internal sealed class StepResult(int outputs)
{
    private MetricPlan? _plan;

    /// <summary>The weighted total loss, the scalar backward starts from (null once back-propagated).</summary>
    public Tensor? Total;

    /// <summary>Each output's mean loss on the batch.</summary>
    public readonly float[] Losses = new float[outputs];

    /// <summary>Each output's metric state for this batch alone (see <see cref="MetricPlan"/>).</summary>
    public double[][] States { get; private set; } = [];

    /// <summary>The total loss as a number (kept after <see cref="Total"/> is released).</summary>
    public float TotalValue;

    /// <summary>The plan the states are laid out for.</summary>
    public MetricPlan Plan => _plan ?? throw new InvalidOperationException("No metrics were computed.");

    /// <summary>Zeroes the states before a batch, (re)allocating them only when the plan changed (a new compile).</summary>
    public void Reset(MetricPlan plan)
    {
        if (!ReferenceEquals(plan, _plan))
        {
            _plan = plan;
            States = [.. plan.StateSizes.Select(size => new double[size])];
        }
        foreach (double[] state in States)
            Array.Clear(state);
    }

    /// <summary>Correct predictions of the first output's accuracy on this batch (0 without one).</summary>
    public int Correct => Plan.HasAccuracy[0] ? (int)States[0][0] : 0;

    /// <summary>The first output's accuracy on this batch, when it has one.</summary>
    public float? Accuracy => Plan.HasAccuracy[0] ? Plan.Result(0, 0, States[0]) : null;
}

/// <summary>Sums of per-batch results over an epoch or an evaluation: mean losses and the metrics.</summary>
internal sealed class MetricTotals(MetricPlan plan, string[] outputNames)
{
    private readonly double[] _lossSums = new double[outputNames.Length];
    private readonly double[][] _states = [.. plan.StateSizes.Select(size => new double[size])];
    private double _totalSum;

    /// <summary>Examples seen.</summary>
    public long Examples { get; private set; }

    /// <summary>Adds one batch's results (each mean loss weighted by the batch size, the metric states summed).</summary>
    public void Add(StepResult step, Dataset batch)
    {
        int size = batch.Count;
        _totalSum += (double)step.TotalValue * size;
        for (int o = 0; o < _lossSums.Length; o++)
        {
            _lossSums[o] += (double)step.Losses[o] * size;
            double[] state = _states[o], add = step.States[o];
            for (int i = 0; i < state.Length; i++)
                state[i] += add[i];
        }
        Examples += size;
    }

    /// <summary>Replaces the sums with their sums over the processes of <paramref name="group"/> (a collective call).</summary>
    public void SumAcross(IProcessGroup group)
    {
        // Every total here is a sum (losses weighted by batch size, metric states as counts and sums), so summing
        // each over the processes gives exactly the totals one process would have seen. Packed as
        // [total loss, examples, per-output loss sums, every output's metric state], once per epoch.
        int outputs = _lossSums.Length;
        var values = new double[2 + outputs + _states.Sum(state => state.Length)];
        values[0] = _totalSum;
        values[1] = Examples;
        _lossSums.CopyTo(values, 2);
        int offset = 2 + outputs;
        foreach (double[] state in _states)
        {
            state.CopyTo(values, offset);
            offset += state.Length;
        }
        group.SumAcrossProcesses(values);
        _totalSum = values[0];
        Examples = (long)values[1];
        values.AsSpan(2, outputs).CopyTo(_lossSums);
        offset = 2 + outputs;
        foreach (double[] state in _states)
        {
            values.AsSpan(offset, state.Length).CopyTo(state);
            offset += state.Length;
        }
    }

    /// <summary>Mean total loss so far.</summary>
    public float MeanLoss => (float)(_totalSum / Math.Max(1, Examples));

    /// <summary>Accuracy of the first output so far, when its loss is a classification loss.</summary>
    public float? Accuracy => AccuracyOf(0);

    private float? AccuracyOf(int output) => plan.HasAccuracy[output] ? plan.Result(output, 0, _states[output]) : null;

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

    /// <summary>The compiled metrics (not the loss's accuracy) by their history names, prefixed (e.g. "val_").</summary>
    public Dictionary<string, float> Compiled(string prefix = "")
    {
        var metrics = new Dictionary<string, float>();
        for (int o = 0; o < _states.Length; o++)
            for (int m = plan.HasAccuracy[o] ? 1 : 0; m < plan.Metrics[o].Length; m++)
                metrics[prefix + plan.Names[o][m]] = plan.Result(o, m, _states[o]);
        return metrics;
    }

    /// <summary>The totals as an <see cref="Evaluation"/>.</summary>
    public Evaluation ToEvaluation() => new(MeanLoss, Accuracy) { Outputs = PerOutput(), Metrics = Compiled() };
}
