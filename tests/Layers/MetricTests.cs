using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Metrics;
using NanoNet.Optim;

namespace NanoNet.Tests;

/// <summary>Each metric against a hand-computed value, computed over the whole data set (not per batch), and named as Keras names it.</summary>
public class MetricTests
{
    /// <summary>A model whose output is its input, so the "predictions" are whatever the test feeds in.</summary>
    private static Model PassThrough(int columns, Metric[] metrics, Loss? loss = null)
    {
        var model = new Sequential([columns], new Activation(ActivationFunction.Linear));
        model.Compile(new Sgd(), loss ?? new MeanSquaredError(), metrics);
        model.Output = TextWriter.Null;
        return model;
    }

    private static Evaluation Evaluate(float[] predictions, float[] targets, int batchSize, params Metric[] metrics) =>
        PassThrough(1, metrics).Evaluate(new Dataset(Tensor.FromArray(predictions, predictions.Length, 1), Tensor.FromArray(targets, targets.Length)), batchSize);

    [Test]
    public void BinaryAccuracyThresholdsAtHalf()
    {
        // 0.9 → 1 = 1 right; 0.4 → 0 ≠ 1; 0.6 → 1 ≠ 0; 0.2 → 0 = 0 right; 0.5 → 0 (not > 0.5) = 0 right.
        Evaluation e = Evaluate([0.9f, 0.4f, 0.6f, 0.2f, 0.5f], [1, 1, 0, 0, 0], 2, new BinaryAccuracy());
        Assert.That(e.Metrics["binary_accuracy"], Is.EqualTo(3f / 5));
    }

    [Test]
    public void PrecisionAndRecallAreCountedOverTheEpochNotAveragedPerBatch()
    {
        // Batch 1 (rows 0–1): TP 1, FP 0 → precision 1. Batch 2 (rows 2–6): TP 1, FP 3, FN 1 → precision 0.25.
        // Over both: TP 2, FP 3, FN 1 → precision 2/5 (the mean of the batches would be 0.625), recall 2/3.
        float[] p = [0.9f, 0.1f, 0.7f, 0.8f, 0.6f, 0.55f, 0.2f];
        float[] t = [1, 0, 1, 0, 0, 0, 1];
        Evaluation e = Evaluate(p, t, 2 + 5, new Precision(), new Recall());
        Evaluation batched = Evaluate(p, t, 2, new Precision(), new Recall());
        Assert.That(e.Metrics["precision"], Is.EqualTo(2f / 5).Within(1e-7));
        Assert.That(e.Metrics["recall"], Is.EqualTo(2f / 3).Within(1e-7));
        Assert.That(batched.Metrics["precision"], Is.EqualTo(2f / 5).Within(1e-7));
        Assert.That(batched.Metrics["recall"], Is.EqualTo(2f / 3).Within(1e-7));
    }

    [Test]
    public void RegressionMetricsByHand()
    {
        // errors 0, 1, 2, 3: MAE 1.5, RMSE √(14/4) (the root of the whole mean, not the mean of per-batch roots).
        Evaluation e = Evaluate([1, 2, 3, 4], [1, 1, 1, 1], 3, new MeanAbsoluteErrorMetric(), new RootMeanSquaredError());
        Assert.That(e.Metrics["mae"], Is.EqualTo(1.5f).Within(1e-7));
        Assert.That(e.Metrics["rmse"], Is.EqualTo(MathF.Sqrt(3.5f)).Within(1e-6));
    }

    [Test]
    public void TopKAccuracyCountsTiesAsIn()
    {
        // Rows (scores), sparse labels [1, 1, 0]. k = 1: argmax 1 ✓, 2 ✗, 0 ✓ → 2/3.
        // k = 2: row 1's label scores 0.3 and only 0.4 is higher → in → 3/3.
        float[] scores = [0.1f, 0.5f, 0.4f, 0.3f, 0.3f, 0.4f, 0.6f, 0.2f, 0.2f];
        var sparse = new Dataset(Tensor.FromArray(scores, 3, 3), Tensor.FromArray([1f, 1f, 0f], 3));
        var model = PassThrough(3, [new SparseTopKCategoricalAccuracy(1, "top1"), new SparseTopKCategoricalAccuracy(2)], new SparseCategoricalCrossEntropy());
        Evaluation e = model.Evaluate(sparse);
        Assert.That(e.Metrics["top1"], Is.EqualTo(2f / 3));
        Assert.That(e.Accuracy, Is.EqualTo(2f / 3)); // the loss's own "accuracy" is the same argmax accuracy
        Assert.That(e.Metrics["sparse_top_k_categorical_accuracy"], Is.EqualTo(1f));
        model = PassThrough(3, [new TopKCategoricalAccuracy(2), new CategoricalAccuracy()]);
        e = model.Evaluate(new Dataset(Tensor.FromArray(scores, 3, 3), Tensor.FromArray([0f, 1, 0, 0, 1, 0, 1, 0, 0], 3, 3)));
        Assert.That(e.Metrics["categorical_accuracy"], Is.EqualTo(2f / 3));
        Assert.That(e.Metrics["top_k_categorical_accuracy"], Is.EqualTo(1f));
    }

    [Test]
    public void AucOfDistinctScoresIsTheExactArea()
    {
        // The classic example: of the 4 positive–negative pairs, 3 are ordered right → 0.75. The scores
        // fall between distinct thresholds, so the 200-threshold trapezoid is exact.
        Evaluation e = Evaluate([0.1f, 0.4f, 0.35f, 0.8f], [0, 0, 1, 1], 3, new Auc());
        Assert.That(e.Metrics["auc"], Is.EqualTo(0.75f).Within(1e-6));
    }

    [Test]
    public void AucMatchesKerasAlgorithmAndApproximatesTheExactArea()
    {
        var rng = new Random(5);
        int n = 500;
        float[] t = [.. Enumerable.Range(0, n).Select(i => (float)(i % 3 == 0 ? 1 : 0))];
        float[] p = [.. t.Select(label => Math.Clamp((float)(rng.NextDouble() * 0.7 + label * 0.3), 0f, 1f))];
        float auc = Evaluate(p, t, 64, new Auc()).Metrics["auc"];
        Assert.That(auc, Is.EqualTo(KerasAucTwin(p, t, 200)).Within(1e-6));
        Assert.That(auc, Is.EqualTo(ExactAuc(p, t)).Within(0.01));
        Assert.That(auc, Is.InRange(0.6f, 0.99f)); // informative, not degenerate
    }

    /// <summary>Keras's AUC, written out: confusion counts at each threshold, then the ROC trapezoid.</summary>
    private static double KerasAucTwin(float[] p, float[] t, int count)
    {
        var thresholds = new float[count];
        thresholds[0] = -1e-7f;
        for (int i = 1; i < count - 1; i++)
            thresholds[i] = (float)(i * 1.0 / (count - 1));
        thresholds[^1] = 1 + 1e-7f;
        var tpr = new double[count];
        var fpr = new double[count];
        for (int k = 0; k < count; k++)
        {
            double tp = 0, fp = 0, fn = 0, tn = 0;
            for (int i = 0; i < p.Length; i++)
            {
                bool predicted = p[i] > thresholds[k], actual = t[i] != 0;
                if (predicted && actual) tp++;
                else if (predicted) fp++;
                else if (actual) fn++;
                else tn++;
            }
            tpr[k] = tp / (tp + fn);
            fpr[k] = fp / (fp + tn);
        }
        double area = 0;
        for (int k = 0; k < count - 1; k++)
            area += (fpr[k] - fpr[k + 1]) * (tpr[k] + tpr[k + 1]) / 2;
        return area;
    }

    /// <summary>The exact AUC: the fraction of positive–negative pairs ordered right (ties count half).</summary>
    private static double ExactAuc(float[] p, float[] t)
    {
        double pairs = 0, right = 0;
        for (int i = 0; i < p.Length; i++)
            for (int j = 0; j < p.Length; j++)
                if (t[i] != 0 && t[j] == 0)
                {
                    pairs++;
                    right += p[i] > p[j] ? 1 : p[i] == p[j] ? 0.5 : 0;
                }
        return right / pairs;
    }

    [Test]
    public void MetricsAreNamedInHistoryAndProgressLineAsKerasNamesThem()
    {
        var model = new Sequential([2], new Dense(1, ActivationFunction.Sigmoid));
        model.Compile(new Adam(0.05f), new BinaryCrossEntropy(), [new Precision(), new Recall(), new Auc(), new BinaryAccuracy()], seed: 1);
        var output = new StringWriter();
        model.Output = output;
        var x = Tensor.RandomUniform([64, 2], -1, 1, 3);
        var y = Tensor.FromArray([.. Enumerable.Range(0, 64).Select(i => x[i, 0] + x[i, 1] > 0 ? 1f : 0f)], 64, 1);
        EpochMetrics last = model.Fit(new Dataset(x, y), batchSize: 16, epochs: 2, validation: new Dataset(x, y)).Last;
        Assert.That(last.Metrics.Keys, Is.EquivalentTo(new[] { "precision", "recall", "auc", "binary_accuracy", "val_precision", "val_recall", "val_auc", "val_binary_accuracy" }));
        Assert.That(last.GetMetric("val_auc"), Is.EqualTo(model.Evaluate(new Dataset(x, y)).Metrics["auc"]));
        Assert.That(last.Metrics["binary_accuracy"], Is.EqualTo(last.Accuracy)); // "accuracy" is binary accuracy for this loss
        Assert.That(output.ToString(), Does.Contain(" - accuracy: ").And.Contain(" - auc: ").And.Contain(" - val_precision: "));
        Assert.DoesNotThrow(() => _ = new EarlyStopping("val_auc"));
    }

    [Test]
    public void SteadyStepWithMetricsAndSampleWeightsAllocatesUnderOneKilobyte()
    {
        var model = new Sequential([8], new Dense(16, ActivationFunction.Relu), new Dense(1, ActivationFunction.Sigmoid));
        model.Compile(new Adam(), new BinaryCrossEntropy(), [new Auc(), new Precision(), new Recall(), new BinaryAccuracy()]);
        var x = Tensor.RandomUniform([32, 8], -1, 1, 1);
        var batch = new Dataset(x, Tensor.FromArray([.. Enumerable.Range(0, 32).Select(i => (float)(i % 2))], 32, 1))
            { SampleWeights = Tensor.RandomUniform([32], 0, 2, 2) };
        long perStep = StepAllocation.BytesPerStep(model, batch);
        Assert.That(perStep, Is.LessThan(1024), $"{perStep} bytes per step");
    }
}
