using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Metrics;
using NanoNet.Optim;

namespace NanoNet.Tests;

/// <summary>
/// Keras's split: <c>metrics=</c> ignore sample weights and class weights, <c>weighted_metrics=</c> count every
/// example with its weight. Hand-computed values, and each built-in metric's weighted update against the same
/// rows repeated as many times as their integer weight.
/// </summary>
public class WeightedMetricTests
{
    [Test]
    public void MetricsIgnoreSampleWeightsAndWeightedMetricsUseThem()
    {
        // p = 0.5·x = (0.5, 1, 1.5) against targets 0, weights (1, 0, 2):
        // mae = (0.5 + 1 + 1.5)/3 = 1; weighted mae = (1·0.5 + 0·1 + 2·1.5)/(1 + 0 + 2) = 3.5/3;
        // rmse = √((0.25 + 1 + 2.25)/3); weighted rmse = √((0.25 + 4.5)/3).
        var dense = new Dense(1);
        var model = new Sequential([1], dense);
        model.Compile(new Sgd(0.1f), new MeanSquaredError(), [new MeanAbsoluteErrorMetric(), new RootMeanSquaredError()],
            [new MeanAbsoluteErrorMetric(), new RootMeanSquaredError()], seed: 1);
        model.Output = TextWriter.Null;
        dense.Kernel[0] = 0.5f;
        dense.Bias[0] = 0f;
        var data = new Dataset(Tensor.FromArray([1f, 2f, 3f], 3, 1), Tensor.FromArray([0f, 0f, 0f], 3, 1)) { SampleWeights = Tensor.FromArray([1f, 0f, 2f], 3) };
        Evaluation evaluation = model.Evaluate(data);
        Assert.That(evaluation.Metrics.Keys, Is.EquivalentTo(new[] { "mae", "rmse", "weighted_mae", "weighted_rmse" }));
        Assert.That(evaluation.Metrics["mae"], Is.EqualTo(1f).Within(1e-6));
        Assert.That(evaluation.Metrics["weighted_mae"], Is.EqualTo(3.5f / 3).Within(1e-6));
        Assert.That(evaluation.Metrics["rmse"], Is.EqualTo(MathF.Sqrt(3.5f / 3)).Within(1e-6));
        Assert.That(evaluation.Metrics["weighted_rmse"], Is.EqualTo(MathF.Sqrt(4.75f / 3)).Within(1e-6));
        Assert.That(model.Metrics, Has.Count.EqualTo(2));
        Assert.That(model.WeightedMetrics, Has.Count.EqualTo(2));

        // Without sample weights the weighted metrics equal their unweighted twins.
        Evaluation unweighted = model.Evaluate(new Dataset(data.Inputs[0], data.Targets[0]));
        Assert.That(unweighted.Metrics["weighted_mae"], Is.EqualTo(unweighted.Metrics["mae"]));
        Assert.That(unweighted.Metrics["weighted_rmse"], Is.EqualTo(unweighted.Metrics["rmse"]));
    }

    [Test]
    public void ClassWeightsReachWeightedMetricsOnlyInFit()
    {
        // σ(x) for x = (−2, −1, 1, 2) thresholds to (0, 0, 1, 1); targets (0, 0, 1, 0): correct (1, 1, 1, 0).
        // classWeight {0: 2} gives weights (2, 2, 1, 2). Accuracy 3/4, weighted (2 + 2 + 1)/7;
        // precision: TP = row 2, FP = row 3: 1/2, weighted 1/(1 + 2). The metrics are of the one batch's forward
        // pass, before its update.
        var dense = new Dense(1, ActivationFunction.Sigmoid);
        var model = new Sequential([1], dense);
        model.Compile(new Sgd(0.1f), new BinaryCrossEntropy(), [new Precision()], [new BinaryAccuracy(name: "accuracy"), new Precision()], seed: 1);
        model.Output = TextWriter.Null;
        dense.Kernel[0] = 1f;
        dense.Bias[0] = 0f;
        var data = new Dataset(Tensor.FromArray([-2f, -1f, 1f, 2f], 4, 1), Tensor.FromArray([0f, 0f, 1f, 0f], 4, 1));
        EpochMetrics epoch = model.Fit(data, batchSize: 4, epochs: 1, shuffle: false, classWeight: new Dictionary<int, float> { [0] = 2f }).Last;
        Assert.That(epoch.Accuracy, Is.EqualTo(0.75f), "the loss's accuracy is unweighted, as Keras's metrics=[\"accuracy\"]");
        Assert.That(epoch.Metrics.Keys, Is.EquivalentTo(new[] { "precision", "weighted_accuracy", "weighted_precision" }));
        Assert.That(epoch.Metrics["precision"], Is.EqualTo(0.5f));
        Assert.That(epoch.Metrics["weighted_accuracy"], Is.EqualTo(5f / 7).Within(1e-6));
        Assert.That(epoch.Metrics["weighted_precision"], Is.EqualTo(1f / 3).Within(1e-6));
    }

    private static IEnumerable<TestCaseData> BuiltInMetrics()
    {
        yield return new TestCaseData(new BinaryAccuracy(), 1, false).SetName("binary_accuracy");
        yield return new TestCaseData(new Precision(), 1, false).SetName("precision");
        yield return new TestCaseData(new Recall(), 1, false).SetName("recall");
        yield return new TestCaseData(new Auc(20), 1, false).SetName("auc");
        yield return new TestCaseData(new MeanAbsoluteErrorMetric(), 3, false).SetName("mae");
        yield return new TestCaseData(new RootMeanSquaredError(), 3, false).SetName("rmse");
        yield return new TestCaseData(new CategoricalAccuracy(), 4, false).SetName("categorical_accuracy");
        yield return new TestCaseData(new TopKCategoricalAccuracy(2), 4, false).SetName("top_k_categorical_accuracy");
        yield return new TestCaseData(new SparseCategoricalAccuracy(), 4, true).SetName("sparse_categorical_accuracy");
        yield return new TestCaseData(new SparseTopKCategoricalAccuracy(2), 4, true).SetName("sparse_top_k_categorical_accuracy");
    }

    /// <summary>
    /// An example of integer weight w counts as that example repeated w times (0: left out), for every metric;
    /// with two rows per example (sequence outputs) the weight applies to both rows.
    /// </summary>
    [TestCaseSource(nameof(BuiltInMetrics))]
    public void WeightEqualsRepetition(Metric metric, int columns, bool sparse)
    {
        const int examples = 6, rowsPerExample = 2, rows = examples * rowsPerExample;
        float[] weights = [2f, 0f, 1f, 3f, 1f, 0f];
        var rng = new Random(5);
        float[] predictions = [.. Enumerable.Range(0, rows * columns).Select(_ => rng.NextSingle())];
        float[] targets;
        if (columns == 4)
        {
            // Class targets: every third row the top-scored class (right), the others the lowest-scored one (wrong
            // for top-1 and top-2), so the plain and the weighted accuracies differ.
            int[] classes = [.. Enumerable.Range(0, rows).Select(r =>
            {
                ReadOnlySpan<float> row = predictions.AsSpan(r * columns, columns);
                return r % 3 == 0 ? System.Numerics.Tensors.TensorPrimitives.IndexOfMax(row) : System.Numerics.Tensors.TensorPrimitives.IndexOfMin(row);
            })];
            targets = sparse ? [.. classes.Select(c => (float)c)] : [.. Enumerable.Range(0, rows * columns).Select(i => classes[i / columns] == i % columns ? 1f : 0f)];
        }
        else
        {
            targets = [.. Enumerable.Range(0, rows * columns).Select(_ => columns == 3 ? rng.NextSingle() : rng.Next(2))];
        }
        int targetsPerRow = sparse ? 1 : columns;

        var weighted = new double[metric.StateSize];
        metric.Update(predictions, targets, columns, weights, weighted);

        var repeated = new double[metric.StateSize];
        for (int n = 0; n < examples; n++)
            for (int copy = 0; copy < (int)weights[n]; copy++)
                metric.Update(predictions.AsSpan(n * rowsPerExample * columns, rowsPerExample * columns),
                    targets.AsSpan(n * rowsPerExample * targetsPerRow, rowsPerExample * targetsPerRow), columns, repeated);

        Assert.That(metric.Result(weighted), Is.EqualTo(metric.Result(repeated)).Within(1e-6));
        var plain = new double[metric.StateSize];
        metric.Update(predictions, targets, columns, plain);
        Assert.That(metric.Result(weighted), Is.Not.EqualTo(metric.Result(plain)), "the weights must change this batch's value");
        var ones = new double[metric.StateSize];
        metric.Update(predictions, targets, columns, [1f, 1f, 1f, 1f, 1f, 1f], ones);
        Assert.That(ones, Is.EqualTo(plain), "unit weights are no weights");
    }

    private sealed class CountMetric : Metric
    {
        public override string Name => "count";
        public override int StateSize => 1;
        public override void Update(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, int columns, Span<double> state) => state[0] += predictions.Length;
        public override float Result(ReadOnlySpan<double> state) => (float)state[0];
    }

    [Test]
    public void ACustomMetricWithoutAWeightedUpdateCannotBeWeighted()
    {
        var model = new Sequential([1], new Dense(1));
        model.Compile(new Sgd(0.1f), new MeanSquaredError(), [], [new CountMetric()]);
        var data = new Dataset(Tensor.FromArray([1f, 2f], 2, 1), Tensor.FromArray([0f, 0f], 2, 1));
        Assert.That(model.Evaluate(data).Metrics["count"], Is.EqualTo(2f), "no sample weights: the unweighted update runs");
        var weighted = new Dataset(data.Inputs[0], data.Targets[0]) { SampleWeights = Tensor.FromArray([1f, 2f], 2) };
        Assert.That(() => model.Evaluate(weighted), Throws.TypeOf<NotSupportedException>().With.Message.Contains("'count'"));
    }
}
