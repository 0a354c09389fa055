using System.Diagnostics;
using NanoNet.Autograd;
using NanoNet.Data;
using NanoNet.Diagnostics;
using NanoNet.Optim;
using NanoNet.Losses;

namespace NanoNet.Layers;

public sealed partial class Sequential
{
    /// <summary>
    /// Trains the model by mini-batch gradient descent: each epoch reshuffles the training set (seeded),
    /// cuts it into batches of <paramref name="batchSize"/> (the last one may be smaller), and for each
    /// batch runs forward, loss, backward, and one optimizer step.
    /// </summary>
    /// <remarks>
    /// <paramref name="batchSize"/> = 1 is stochastic gradient descent; <paramref name="batchSize"/> =
    /// the training set size is batch gradient descent; everything in between is mini-batch. Only the
    /// batch size changes: it is the same loop.
    /// </remarks>
    /// <param name="train">Training examples and labels.</param>
    /// <param name="batchSize">Examples per gradient step.</param>
    /// <param name="epochs">Passes over the training set.</param>
    /// <param name="shuffle">Reshuffle every epoch.</param>
    /// <param name="validation">Optional data evaluated after every epoch.</param>
    /// <param name="seed">Seed of the shuffling.</param>
    /// <param name="verbose">0 = silent, 1 = one line per epoch (and a live progress bar on an interactive console).</param>
    /// <param name="batchTransform">Optional in-place change of each training batch, e.g. data augmentation.</param>
    /// <param name="callbacks">
    /// Optional hooks called at the start and end of training, of every epoch and after every batch
    /// (<see cref="EarlyStopping"/>, <see cref="ReduceLearningRateOnPlateau"/>, <see cref="LambdaCallback"/>, ...).
    /// </param>
    /// <returns>One <see cref="EpochMetrics"/> per epoch run (fewer than <paramref name="epochs"/> if stopped).</returns>
    /// <exception cref="ArithmeticException">The loss became NaN or infinite (training diverged).</exception>
    public TrainingHistory Fit(Dataset train, int batchSize = 32, int epochs = 1, bool shuffle = true,
        Dataset? validation = null, int seed = 0, int verbose = 1, Action<Dataset>? batchTransform = null,
        IReadOnlyList<Callback>? callbacks = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (epochs < 0)
            throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "epochs must be non-negative.");
        Optimizer optimizer = Optimizer ?? throw NotCompiled();
        CheckBatchShape(train.Features);

        var loader = new MiniBatchLoader(train, batchSize, shuffle, seed) { BatchTransform = batchTransform };
        var hooks = new CallbackList(this, callbacks);
        var history = new TrainingHistory();
        var progress = verbose > 0 ? new ProgressPrinter(Output, loader.BatchCount, interactive: !Console.IsOutputRedirected && Output == Console.Out) : null;
        bool classification = Loss!.IsClassification;
        long step = 0;
        StopTraining = false;
        hooks.TrainBegin();
        for (int epoch = 1; epoch <= epochs && !StopTraining; epoch++)
        {
            progress?.StartEpoch(epoch, epochs);
            hooks.EpochBegin(epoch);
            var clock = Stopwatch.StartNew();
            double lossSum = 0;
            long correct = 0, seen = 0, labelsSeen = 0; // labels: one per example, or one per step for (N, T) targets
            int batchNumber = 0;
            foreach (Dataset batch in loader.NextEpoch())
            {
                (float loss, int batchCorrect) = TrainStep(batch, optimizer);
                lossSum += (double)loss * batch.Count;
                correct += batchCorrect;
                seen += batch.Count;
                batchNumber++;
                step++;
                labelsSeen += batch.Labels.Length;
                progress?.Batch(batchNumber, (float)(lossSum / seen), classification ? (float)correct / labelsSeen : null, clock.Elapsed);
                if (hooks.Any)
                    hooks.BatchEnd(new BatchMetrics(epoch, batchNumber, step, batch.Count, loss, classification ? (float)batchCorrect / batch.Labels.Length : null));
                if (StopTraining)
                    break; // the partial epoch is still evaluated and reported, as in Keras
            }
            double seconds = clock.Elapsed.TotalSeconds;
            Evaluation? val = validation is null ? null : Evaluate(validation);
            var metrics = new EpochMetrics(epoch, (float)(lossSum / Math.Max(1, seen)),
                classification ? (float)correct / Math.Max(1, labelsSeen) : null,
                val?.Loss, val?.Accuracy, seconds, seen / Math.Max(seconds, 1e-9));
            history.Add(metrics);
            progress?.EndEpoch(metrics, batchNumber);
            hooks.EpochEnd(metrics);
            if (Profiler.Enabled && verbose > 0)
            {
                Output.WriteLine(Profiler.Report());
                Profiler.Reset();
            }
        }
        _stepMemory.Release(); // nothing of the last step outlives Fit
        hooks.TrainEnd(history);
        return history;
    }

    /// <summary>
    /// Set to true to make <c>Fit</c> stop: after the current batch, or before the next epoch when set
    /// from <see cref="Callback.OnEpochEnd"/>. Callbacks set it (e.g. <see cref="EarlyStopping"/>); so may
    /// another thread, e.g. a Ctrl+C handler. <c>Fit</c> clears it when it starts.
    /// </summary>
    public bool StopTraining
    {
        get => _stopTraining;
        set => _stopTraining = value;
    }

    private volatile bool _stopTraining;

    /// <summary>Keras-style overload taking features and labels.</summary>
    public TrainingHistory Fit(Tensor x, Tensor y, int batchSize = 32, int epochs = 1, bool shuffle = true,
        Dataset? validation = null, int seed = 0, int verbose = 1, IReadOnlyList<Callback>? callbacks = null) =>
        Fit(new Dataset(x, y), batchSize, epochs, shuffle, validation, seed, verbose, callbacks: callbacks);

    /// <summary>
    /// One gradient step on one batch: forward, loss, backward, optimizer update, gradients reset.
    /// Returns the batch's mean loss and, for classification, the number of correct predictions.
    /// </summary>
    public (float Loss, int Correct) TrainStep(Dataset batch, Optimizer? optimizer = null)
    {
        ArgumentNullException.ThrowIfNull(batch);
        optimizer ??= Optimizer ?? throw NotCompiled();
        _stepMemory.Release(); // takes back the previous step's activations and gradients
        using (_stepMemory.Use())
        {
            (Tensor loss, Tensor output) = ForwardLoss(batch, training: true);
            float value = loss[0];
            if (!float.IsFinite(value))
                throw new ArithmeticException($"The loss became {value} (diverged): lower the learning rate or check the inputs for NaN.");
            int correct = Loss!.IsClassification ? CountCorrect(output, batch.Labels) : 0;
            loss.Backward();
            long started = Profiler.Start();
            optimizer.Step(Parameters);
            Optimizer.ZeroGradients(Parameters);
            Profiler.StopIn("optimizer", optimizer.GetType().Name, started, 0, backward: false);
            return (value, correct);
        }
    }
}
