using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Tests;

public class CallbackTests
{
    /// <summary>Three noisy blobs in 4-D, one per class (as in SequentialTests).</summary>
    private static Dataset Blobs(int count, int seed, int labelShift = 0)
    {
        var rng = new Random(seed);
        var x = Tensor.Zeros(count, 4);
        var y = Tensor.Zeros(count);
        for (int i = 0; i < count; i++)
        {
            int label = i % 3;
            y[i] = (label + labelShift) % 3;
            for (int f = 0; f < 4; f++)
                x[i, f] = (f == label ? 1.5f : 0f) + (rng.NextSingle() - 0.5f);
        }
        return new Dataset(x, y);
    }

    private static Sequential SmallClassifier(float learningRate = 0.5f, int seed = 1)
    {
        var model = new Sequential([4], new Dense(16, ActivationFunction.Relu), new Dense(3, ActivationFunction.Softmax));
        model.Compile(new Sgd(learningRate), new SparseCategoricalCrossEntropy(), seed);
        model.Output = TextWriter.Null;
        return model;
    }

    private static EpochMetrics Epoch(int epoch, float valLoss, float loss = 1f, float? valAccuracy = null) =>
        new(epoch, loss, 0.5f, valLoss, valAccuracy, Seconds: 1, SamplesPerSecond: 1);

    // ---- the batch hook ----

    [Test]
    public void BatchHookSeesEveryBatchWithItsSizeIncludingTheLastPartialOne()
    {
        Sequential model = SmallClassifier();
        var batches = new List<BatchMetrics>();
        var order = new List<string>();
        var log = new LambdaCallback(
            onTrainBegin: () => order.Add("train begin"),
            onEpochBegin: e => order.Add($"epoch {e} begin"),
            onBatchEnd: batches.Add,
            onEpochEnd: m => order.Add($"epoch {m.Epoch} end after {batches.Count} batches"),
            onTrainEnd: h => order.Add($"train end, {h.Epochs.Count} epochs"));

        // 100 = 14·7 + 2: fourteen batches of 7 and a last one of 2, per epoch.
        TrainingHistory history = model.Fit(Blobs(100, 1), batchSize: 7, epochs: 2, callbacks: [log]);

        Assert.That(batches, Has.Count.EqualTo(30));
        Assert.That(batches.Select(b => b.Size), Is.EqualTo(Enumerable.Repeat(Enumerable.Repeat(7, 14).Append(2), 2).SelectMany(s => s)));
        Assert.That(batches.Select(b => b.Step), Is.EqualTo(Enumerable.Range(1, 30).Select(i => (long)i)));
        Assert.That(batches.Select(b => b.Epoch), Is.EqualTo(Enumerable.Repeat(1, 15).Concat(Enumerable.Repeat(2, 15))));
        Assert.That(batches.Select(b => b.Batch), Is.EqualTo(Enumerable.Range(1, 15).Concat(Enumerable.Range(1, 15))));
        Assert.That(batches.Sum(b => b.Size), Is.EqualTo(200));
        Assert.That(batches.All(b => float.IsFinite(b.Loss) && b.Accuracy is >= 0f and <= 1f));
        Assert.That(model.Optimizer!.Iterations, Is.EqualTo(30));
        Assert.That(order, Is.EqualTo(new[]
        {
            "train begin", "epoch 1 begin", "epoch 1 end after 15 batches", "epoch 2 begin", "epoch 2 end after 30 batches", "train end, 2 epochs",
        }));

        // The epoch's loss is the size-weighted mean of its batch losses.
        double epochOne = batches.Take(15).Sum(b => (double)b.Loss * b.Size) / 100;
        Assert.That(history.Epochs[0].Loss, Is.EqualTo((float)epochOne).Within(1e-6f));
    }

    [Test]
    public void StoppingFromTheBatchHookEndsTrainingAfterThatBatch()
    {
        Sequential model = SmallClassifier();
        int seen = 0;
        var stopper = new LambdaCallback(onBatchEnd: b =>
        {
            seen++;
            if (b.Step == 5)
                model.StopTraining = true;
        });
        TrainingHistory history = model.Fit(Blobs(60, 2), batchSize: 4, epochs: 3, callbacks: [stopper], validation: Blobs(30, 3));
        Assert.That(seen, Is.EqualTo(5));
        Assert.That(model.Optimizer!.Iterations, Is.EqualTo(5));
        Assert.That(history.Epochs, Has.Count.EqualTo(1), "the partial epoch is reported");
        Assert.That(history.Last.ValidationLoss, Is.Not.Null);
        Assert.That(history.Last.SamplesPerSecond * history.Last.Seconds, Is.EqualTo(20).Within(1e-6));

        // The next Fit starts afresh.
        model.Fit(Blobs(60, 2), batchSize: 60, epochs: 2);
        Assert.That(model.Optimizer!.Iterations, Is.EqualTo(7));
    }

    [Test]
    public void StoppingFromTheEpochHookSkipsTheRemainingEpochs()
    {
        Sequential model = SmallClassifier();
        var stopper = new LambdaCallback(onEpochEnd: m => model.StopTraining = m.Epoch == 2);
        TrainingHistory history = model.Fit(Blobs(30, 2), batchSize: 10, epochs: 10, callbacks: [stopper]);
        Assert.That(history.Epochs, Has.Count.EqualTo(2));
        Assert.That(model.Optimizer!.Iterations, Is.EqualTo(6));
    }

    // ---- early stopping, fed metrics ----

    [TestCase(0, 3)]   // patience 0 acts as 1: stop after the first epoch that does not improve
    [TestCase(1, 3)]
    [TestCase(2, 4)]
    [TestCase(3, 8)]   // epoch 5 improves again (0.7 < 0.8), so waiting restarts
    public void EarlyStoppingStopsAfterPatienceEpochsWithoutImprovement(int patience, int expectedStop)
    {
        float[] valLoss = [1.0f, 0.8f, 0.85f, 0.9f, 0.7f, 0.75f, 0.76f, 0.77f, 0.78f, 0.79f];
        Sequential model = SmallClassifier();
        var stopping = new EarlyStopping(patience: patience) { Model = model };
        int stoppedAt = FeedUntilStopped(model, stopping, valLoss);
        Assert.That(stoppedAt, Is.EqualTo(expectedStop));
        Assert.That(stopping.StoppedEpoch, Is.EqualTo(expectedStop));
    }

    [Test]
    public void EarlyStoppingHonoursMinDeltaAndMode()
    {
        Sequential model = SmallClassifier();
        // Accuracy rises by less than minDelta: not an improvement.
        var stopping = new EarlyStopping("val_accuracy", patience: 2, minDelta: 0.01f) { Model = model };
        float[] accuracy = [0.50f, 0.505f, 0.509f, 0.6f];
        stopping.OnTrainBegin();
        int stoppedAt = 0;
        for (int e = 1; e <= accuracy.Length && stoppedAt == 0; e++)
        {
            stopping.OnEpochEnd(Epoch(e, valLoss: 1f, valAccuracy: accuracy[e - 1]));
            if (model.StopTraining) stoppedAt = e;
        }
        Assert.That(stoppedAt, Is.EqualTo(3));
        Assert.That(stopping.BestEpoch, Is.EqualTo(1));
        Assert.That(stopping.Best, Is.EqualTo(0.5f));

        // Mode Max on a loss: a rising loss counts as improving, so it never stops.
        model.StopTraining = false;
        var inverted = new EarlyStopping("loss", patience: 1, mode: MonitorMode.Max) { Model = model };
        Assert.That(FeedUntilStopped(model, inverted, [1f, 2f, 3f, 4f], monitorTrainingLoss: true), Is.EqualTo(0));
        Assert.That(inverted.BestEpoch, Is.EqualTo(4));
    }

    [Test]
    public void EarlyStoppingRestoresTheBestEpochsWeights()
    {
        Sequential model = SmallClassifier();
        var stopping = new EarlyStopping(patience: 2, restoreBestWeights: true) { Model = model };
        float[] valLoss = [0.9f, 0.6f, 0.7f, 0.8f, 0.5f];
        stopping.OnTrainBegin();
        int epoch = 0;
        while (!model.StopTraining)
        {
            epoch++;
            foreach (Tensor p in model.Parameters)
                p.Span.Fill(epoch); // "training" writes the epoch number into every weight
            stopping.OnEpochEnd(Epoch(epoch, valLoss[epoch - 1]));
        }
        Assert.That(epoch, Is.EqualTo(4));
        stopping.OnTrainEnd(new TrainingHistory());
        Assert.That(model.Parameters.SelectMany(p => p.ToArray()).Distinct(), Is.EqualTo(new[] { 2f }), "weights of epoch 2, the best");
    }

    [Test]
    public void EarlyStoppingNamesAMissingMetric()
    {
        var stopping = new EarlyStopping("val_loss") { Model = SmallClassifier() };
        stopping.OnTrainBegin();
        var ex = Assert.Throws<InvalidOperationException>(() => stopping.OnEpochEnd(new EpochMetrics(1, 1f, 0.5f, null, null, 1, 1)));
        Assert.That(ex!.Message, Does.Contain("val_loss").And.Contain("validation data"));
        Assert.Throws<ArgumentException>(() => _ = new EarlyStopping("val_acc"));
    }

    /// <summary>Feeds one epoch at a time until the callback stops training; returns that epoch (0 if never).</summary>
    private static int FeedUntilStopped(Sequential model, Callback callback, float[] values, bool monitorTrainingLoss = false)
    {
        callback.OnTrainBegin();
        for (int e = 1; e <= values.Length; e++)
        {
            callback.OnEpochEnd(monitorTrainingLoss ? Epoch(e, valLoss: 1f, loss: values[e - 1]) : Epoch(e, values[e - 1]));
            if (model.StopTraining)
                return e;
        }
        return 0;
    }

    // ---- early stopping, in Fit ----

    [Test]
    public void EarlyStoppingInFitStopsWhenValidationLossRisesAndRestoresTheBestWeights()
    {
        // Validation labels are shifted by one class: the better the model learns the training set, the
        // worse its validation loss, so val_loss bottoms out early and rises.
        Sequential model = SmallClassifier(learningRate: 0.2f);
        Dataset train = Blobs(120, 4), validation = Blobs(60, 5, labelShift: 1);
        var stopping = new EarlyStopping("val_loss", patience: 2, restoreBestWeights: true);
        TrainingHistory history = model.Fit(train, batchSize: 20, epochs: 30, validation: validation, callbacks: [stopping]);

        float[] valLoss = history.Epochs.Select(m => m.ValidationLoss!.Value).ToArray();
        int best = Array.IndexOf(valLoss, valLoss.Min()) + 1;
        Assert.That(history.Epochs.Count, Is.LessThan(30), "must stop early");
        Assert.That(history.Epochs.Count, Is.EqualTo(best + 2), "stops two epochs after the best");
        Assert.That(stopping.BestEpoch, Is.EqualTo(best));
        Assert.That(stopping.StoppedEpoch, Is.EqualTo(history.Epochs.Count));
        Assert.That(valLoss[^1], Is.GreaterThan(valLoss[best - 1]));
        Assert.That(model.Evaluate(validation).Loss, Is.EqualTo(valLoss[best - 1]), "the best epoch's weights are back");
    }

    // ---- reduce learning rate on plateau ----

    [Test]
    public void ReduceOnPlateauMultipliesByTheFactorAfterPatienceEpochsWithCooldownAndFloor()
    {
        Sequential model = SmallClassifier(learningRate: 0.1f);
        var reduce = new ReduceLearningRateOnPlateau("loss", factor: 0.5f, patience: 2, minLearningRate: 0.02f, cooldown: 1) { Model = model };
        reduce.OnTrainBegin();
        var rates = new List<float>();
        for (int e = 1; e <= 10; e++)
        {
            reduce.OnEpochEnd(Epoch(e, valLoss: 0f, loss: 1f)); // a flat training loss
            rates.Add(model.Optimizer!.LearningRate);
        }
        // 1: best; 2: wait 1; 3: wait 2 -> ×0.5, cooldown 1; 4: cooldown spent, wait 1; 5: ×0.5; 6; 7: floor 0.02; then stays.
        float[] expected = [0.1f, 0.1f, 0.05f, 0.05f, 0.025f, 0.025f, 0.02f, 0.02f, 0.02f, 0.02f];
        Assert.That(rates, Is.EqualTo(expected).Within(1e-8f));
        Assert.That(reduce.Reductions, Is.EqualTo(3));
    }

    [Test]
    public void ReduceOnPlateauResetsItsWaitOnImprovementByMoreThanMinDelta()
    {
        Sequential model = SmallClassifier(learningRate: 0.1f);
        var reduce = new ReduceLearningRateOnPlateau("val_accuracy", factor: 0.1f, patience: 2, minDelta: 0.01f) { Model = model };
        reduce.OnTrainBegin();
        // 0.50 best; 0.55 improves; 0.555 does not (by < minDelta): wait 1; 0.60 improves; 0.60 wait 1; 0.59 wait 2 -> reduce.
        float[] accuracy = [0.50f, 0.55f, 0.555f, 0.60f, 0.60f, 0.59f];
        var rates = new List<float>();
        for (int e = 1; e <= accuracy.Length; e++)
        {
            reduce.OnEpochEnd(Epoch(e, valLoss: 1f, valAccuracy: accuracy[e - 1]));
            rates.Add(model.Optimizer!.LearningRate);
        }
        Assert.That(rates, Is.EqualTo(new[] { 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f * 0.1f }).Within(1e-9f));
    }

    [Test]
    public void ReduceOnPlateauInFitLowersTheRateWhenValidationLossStopsImproving()
    {
        Sequential model = SmallClassifier(learningRate: 0.2f);
        Dataset train = Blobs(120, 4), validation = Blobs(60, 5, labelShift: 1);
        var reduce = new ReduceLearningRateOnPlateau("val_loss", factor: 0.5f, patience: 3);
        var rates = new List<float>();
        var record = new LambdaCallback(onEpochEnd: _ => rates.Add(model.Optimizer!.LearningRate));
        TrainingHistory history = model.Fit(train, batchSize: 20, epochs: 12, validation: validation, callbacks: [reduce, record]);

        // Replay the rule on the recorded validation losses to know where the reductions fall.
        float best = float.PositiveInfinity, rate = 0.2f;
        int wait = 0;
        var expected = new List<float>();
        foreach (EpochMetrics m in history.Epochs)
        {
            float v = m.ValidationLoss!.Value;
            if (v < best - 1e-4f) { best = v; wait = 0; }
            else if (++wait >= 3) { rate *= 0.5f; wait = 0; }
            expected.Add(rate);
        }
        Assert.That(rates, Is.EqualTo(expected));
        Assert.That(reduce.Reductions, Is.GreaterThan(0), "validation loss rises here, so the rate must drop");
    }

    [Test]
    public void ReduceOnPlateauRefusesAnOptimizerWithASchedule()
    {
        Sequential model = SmallClassifier();
        model.Optimizer!.Schedule = new ConstantLearningRate(0.1f);
        var reduce = new ReduceLearningRateOnPlateau("loss");
        Assert.Throws<InvalidOperationException>(() => model.Fit(Blobs(30, 1), batchSize: 10, callbacks: [reduce]));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new ReduceLearningRateOnPlateau(factor: 1f));
    }

    [Test]
    public void NullCallbackIsRejected()
    {
        Sequential model = SmallClassifier();
        Assert.Throws<ArgumentException>(() => model.Fit(Blobs(30, 1), batchSize: 10, callbacks: [null!]));
    }
}
