using System.Diagnostics;
using NanoNet.Data;
using NanoNet.Diagnostics;
using NanoNet.Losses;
using NanoNet.Optim;

namespace NanoNet.Layers;

public partial class Model
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
    /// <param name="train">Training examples and targets (several input or target tensors for models with several inputs or outputs).</param>
    /// <param name="batchSize">Examples per gradient step.</param>
    /// <param name="epochs">Passes over the training set.</param>
    /// <param name="shuffle">Reshuffle every epoch.</param>
    /// <param name="validation">Optional data evaluated after every epoch.</param>
    /// <param name="seed">Seed of the shuffling (epoch e's order depends only on the seed and e).</param>
    /// <param name="verbose">0 = silent, 1 = one line per epoch (and a live progress bar on an interactive console).</param>
    /// <param name="batchTransform">Optional in-place change of each training batch, e.g. data augmentation.</param>
    /// <param name="callbacks">Optional hooks called at the start and end of training, of every epoch and after every batch.</param>
    /// <param name="gradientAccumulationSteps">
    /// Apply the optimizer every this many batches, to the mean of their gradients (Keras 3's
    /// <c>gradient_accumulation_steps</c>): the update of a batch this many times larger, in the memory of
    /// one batch. A partial group at the end of an epoch is applied as the mean of its batches.
    /// </param>
    /// <param name="progress">Optional receiver of a <see cref="TrainingProgress"/> after every batch (e.g. a GUI's progress bar).</param>
    /// <param name="cancellationToken">
    /// Stops training at the next batch boundary: the batch in flight finishes its update, a partial
    /// gradient accumulation is discarded, and <see cref="OperationCanceledException"/> is thrown with the
    /// model consistent (every weight from a completed update).
    /// </param>
    /// <param name="initialEpoch">
    /// Epochs already done, to continue a run (Keras's <c>initial_epoch</c>): training runs epochs
    /// <paramref name="initialEpoch"/> + 1 … <paramref name="epochs"/>, numbered so, and epoch e is shuffled
    /// exactly as in an uninterrupted run with the same <paramref name="seed"/>. Restore the weights and
    /// optimizer first (e.g. from a checkpoint). A callback may raise it in <see cref="Callback.OnTrainBegin"/>
    /// through <see cref="InitialEpoch"/>.
    /// </param>
    /// <param name="classWeight">
    /// Optional weight per class id (Keras's <c>class_weight</c>): each example's loss is multiplied by the
    /// weight of its class (classes not listed weigh 1), to make rare classes count more. The class of a row
    /// is its target rounded to an integer (class ids or 0/1 labels), or the argmax of a one-hot target row.
    /// Not together with <see cref="Dataset.SampleWeights"/> (give those the class weights yourself).
    /// </param>
    /// <returns>One <see cref="EpochMetrics"/> per epoch run (fewer than <paramref name="epochs"/> − <paramref name="initialEpoch"/> if stopped).</returns>
    /// <exception cref="ArithmeticException">
    /// The loss, or a gradient, became NaN or infinite (training diverged): the message names the step and,
    /// for a gradient, the first layer whose gradient is not finite.
    /// </exception>
    /// <exception cref="ArgumentException">A class-id target is not a class of its output; checked before the first epoch, naming the data-set row.</exception>
    public TrainingHistory Fit(Dataset train, int batchSize = 32, int epochs = 1, bool shuffle = true,
        Dataset? validation = null, int seed = 0, int verbose = 1, Action<Dataset>? batchTransform = null,
        IReadOnlyList<Callback>? callbacks = null, int gradientAccumulationSteps = 1,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default, int initialEpoch = 0,
        IReadOnlyDictionary<int, float>? classWeight = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentOutOfRangeException.ThrowIfNegative(initialEpoch);
        EnsureGraph();
        if (classWeight is not null)
            train = ClassWeights.Apply(train, classWeight);
        CheckInputs(train.Inputs);
        CheckClassTargets(train, "training");
        var loader = new MiniBatchLoader(train, batchSize, shuffle, seed)
        {
            BatchTransform = batchTransform,
            ShardIndex = ProcessGroup?.Rank ?? 0, // data-parallel: this process's share of every global batch
            ShardCount = ProcessGroup?.Size ?? 1,
        };
        var run = new TrainingRun(this, epochs, loader.BatchCount, validation, verbose, callbacks, gradientAccumulationSteps, progress, cancellationToken)
            { InitialEpoch = initialEpoch };
        return run.Execute(epoch =>
        {
            loader.Epoch = epoch - 1; // epoch e's order depends only on (seed, e), so a resumed run shuffles as the original
            return loader.NextEpoch();
        });
    }

    /// <summary>Keras-style overload taking features and labels.</summary>
    public TrainingHistory Fit(Tensor x, Tensor y, int batchSize = 32, int epochs = 1, bool shuffle = true,
        Dataset? validation = null, int seed = 0, int verbose = 1, IReadOnlyList<Callback>? callbacks = null) =>
        Fit(new Dataset(x, y), batchSize, epochs, shuffle, validation, seed, verbose, callbacks: callbacks);

    /// <summary>
    /// Trains on batches streamed from anywhere (files read a chunk at a time, a generator): each epoch
    /// enumerates <paramref name="batches"/> afresh, so data larger than memory trains. The source decides
    /// batch sizes and order (shuffle it there, seeded by the epoch, to keep runs reproducible).
    /// </summary>
    /// <param name="batches">The batches of one epoch; enumerated once per epoch.</param>
    /// <param name="epochs">Passes over the stream.</param>
    /// <param name="validation">Optional data evaluated after every epoch.</param>
    /// <param name="verbose">0 = silent, 1 = one line per epoch.</param>
    /// <param name="callbacks">Optional hooks.</param>
    /// <param name="gradientAccumulationSteps">See <see cref="Fit(Dataset, int, int, bool, Dataset?, int, int, Action{Dataset}?, IReadOnlyList{Callback}?, int, IProgress{TrainingProgress}?, CancellationToken, int, IReadOnlyDictionary{int, float}?)"/>.</param>
    /// <param name="progress">Optional receiver of progress after every batch.</param>
    /// <param name="cancellationToken">Stops at the next batch boundary (see the in-memory overload).</param>
    public TrainingHistory Fit(IEnumerable<Dataset> batches, int epochs = 1, Dataset? validation = null, int verbose = 1,
        IReadOnlyList<Callback>? callbacks = null, int gradientAccumulationSteps = 1,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batches);
        var run = new TrainingRun(this, epochs, batchesPerEpoch: null, validation, verbose, callbacks, gradientAccumulationSteps, progress, cancellationToken);
        return run.Execute(_ => batches);
    }

    /// <summary>
    /// Like <see cref="Fit(IEnumerable{Dataset}, int, Dataset?, int, IReadOnlyList{Callback}?, int, IProgress{TrainingProgress}?, CancellationToken)"/>
    /// for an asynchronous stream (e.g. batches decoded from files or the network while the previous one trains).
    /// </summary>
    public async Task<TrainingHistory> FitAsync(IAsyncEnumerable<Dataset> batches, int epochs = 1, Dataset? validation = null, int verbose = 1,
        IReadOnlyList<Callback>? callbacks = null, int gradientAccumulationSteps = 1,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batches);
        var run = new TrainingRun(this, epochs, batchesPerEpoch: null, validation, verbose, callbacks, gradientAccumulationSteps, progress, cancellationToken);
        return await run.ExecuteAsync(batches).ConfigureAwait(false);
    }

    /// <summary>
    /// Set to true to make <c>Fit</c> stop: after the current batch, or before the next epoch when set
    /// from <see cref="Callback.OnEpochEnd"/>. Callbacks set it (e.g. <see cref="EarlyStopping"/>); so may
    /// another thread. <c>Fit</c> clears it when it starts. (To stop from outside with an exception,
    /// pass a <see cref="CancellationToken"/> instead.)
    /// </summary>
    public bool StopTraining
    {
        get => _stopTraining;
        set => _stopTraining = value;
    }

    private volatile bool _stopTraining;

    /// <summary>
    /// The processes of a data-parallel run (null, the default, for one process). With a group, the
    /// in-memory <c>Fit</c> trains on this process's shard of every global batch of
    /// <c>batchSize</c> × <see cref="IProcessGroup.Size"/> rows, and the epoch's training metrics are
    /// summed across the processes before they are reported or reach the callbacks. Set by a
    /// data-parallel wrapper (NanoNet.Distributed's <c>DataParallel</c>) together with the optimizer's
    /// <see cref="Optimizer.GradientReducer"/>. Streamed batches are the source's to shard.
    /// </summary>
    public IProcessGroup? ProcessGroup { get; set; }

    /// <summary>
    /// The epochs already done when <c>Fit</c> starts: <c>Fit</c> sets it (to its <c>initialEpoch</c>, 0
    /// by default) just before <see cref="Callback.OnTrainBegin"/>, and a callback may change it there to
    /// continue a run (<c>BackupAndRestore</c> does): the first epoch run is then <see cref="InitialEpoch"/> + 1.
    /// </summary>
    public int InitialEpoch
    {
        get => _initialEpoch;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _initialEpoch = value;
        }
    }

    private int _initialEpoch;

    /// <summary>
    /// One gradient step on one batch: forward, loss, backward, optimizer update, gradients reset.
    /// Returns the batch's mean loss and, for a classification loss, the number of correct predictions.
    /// </summary>
    /// <exception cref="ArithmeticException">The loss or a gradient is NaN or infinite (the message names the layer).</exception>
    public (float Loss, int Correct) TrainStep(Dataset batch, Optimizer? optimizer = null)
    {
        optimizer ??= Optimizer ?? throw NotCompiled();
        long step = optimizer.Iterations + 1;
        StepResult result = ComputeGradients(batch, step, tolerateNonFiniteLoss: false);
        ApplyGradients(optimizer, batchesAccumulated: 1, step);
        return (result.TotalValue, result.Correct);
    }

    /// <summary>
    /// Forward, loss and backward on one batch, adding to the parameters' gradients (no update): the first
    /// half of a step, separate so several batches can accumulate before one update.
    /// </summary>
    /// <remarks>
    /// A NaN or infinite loss throws, unless <paramref name="tolerateNonFiniteLoss"/> (a <see cref="TerminateOnNaN"/>
    /// is listening): then nothing is back-propagated and the caller sees the loss and skips the update.
    /// </remarks>
    private StepResult ComputeGradients(Dataset batch, long step, bool tolerateNonFiniteLoss)
    {
        ArgumentNullException.ThrowIfNull(batch);
        using Parallelism.ThreadLimitScope threads = Parallelism.LimitThreads(_maxThreads);
        _training.Memory.Release(); // takes back the previous step's activations and gradients
        using (_training.Memory.Use())
        {
            StepResult result = ForwardLoss(_training, batch, training: true);
            float value = result.TotalValue;
            if (!float.IsFinite(value) && tolerateNonFiniteLoss)
            {
                result.Total = null;
                return result;
            }
            if (!float.IsFinite(value))
                throw new ArithmeticException($"Training stopped at step {step}: the loss became {value} (diverged): lower the learning rate or check the inputs for NaN.");
            result.Total!.Backward();
            result.Total = null; // the graph is consumed; keep nothing of it
            return result;
        }
    }

    /// <summary>The second half of a step: one optimizer update from the mean of the accumulated gradients, then gradients reset.</summary>
    /// <remarks>
    /// The optimizer's fused update (or its global-norm pass) checks every gradient on the way; a
    /// non-finite one stops training here with the step and the layer named.
    /// </remarks>
    private void ApplyGradients(Optimizer optimizer, int batchesAccumulated, long step)
    {
        using Parallelism.ThreadLimitScope threads = Parallelism.LimitThreads(_maxThreads);
        long started = Profiler.Start();
        IReadOnlyList<Tensor> parameters = Parameters;
        if (batchesAccumulated > 1)
            foreach (Tensor parameter in parameters)
                if (parameter.Grad is { } gradient)
                    System.Numerics.Tensors.TensorPrimitives.Multiply(gradient.Span, 1f / batchesAccumulated, gradient.Span);
        try
        {
            optimizer.Step(parameters);
        }
        catch (NonFiniteGradientException e)
        {
            Optimizer.ZeroGradients(parameters);
            Layer? layer = _layers.FirstOrDefault(l => l.Parameters.Contains(e.Parameter));
            throw new ArithmeticException(
                $"Training stopped at step {step}: the gradient of layer '{layer?.Name ?? "?"}' (parameter '{e.Parameter.Name}'), the first layer whose gradient is not finite, holds NaN or infinite values " +
                "(an op overflowed or divided by zero in the backward pass, or the learning rate is too high). " + e.Message, e);
        }
        double clearedBytes = started != 0 ? GradientBytesToClear(parameters) : 0;
        Optimizer.ZeroGradients(parameters);
        Profiler.StopIn("optimizer", optimizer.GetType().Name, started, 0, backward: false, optimizer.LastStepBytes + clearedBytes);
    }

    /// <summary>
    /// Bytes <see cref="Optimizer.ZeroGradients"/> writes: an embedding's touched rows. A whole gradient is cleared only
    /// when something reads it before its first writer stores every element (<see cref="Tensor.ZeroGrad"/>), and then
    /// inside that op, so it is not counted here.
    /// </summary>
    private static double GradientBytesToClear(IReadOnlyList<Tensor> parameters)
    {
        double bytes = 0;
        foreach (Tensor parameter in parameters)
        {
            if (parameter.Grad is null || parameter.TouchedGradientRows is not { } rows)
                continue;
            int width = parameter.Length / parameter.Dim(0);
            for (int row = 0; rows.NextRun(row, out int start, out int count); row = start + count)
                bytes += sizeof(float) * (double)count * width;
        }
        return bytes;
    }

    /// <summary>Discards gradients accumulated by batches that will not be applied (cancellation, an error).</summary>
    private void DiscardGradients()
    {
        using Parallelism.ThreadLimitScope threads = Parallelism.LimitThreads(_maxThreads);
        Optimizer.ZeroGradients(Parameters);
    }

    /// <summary>
    /// Gives back the memory a finished training holds: the step memory's pooled arrays and tensor
    /// objects, the parameters' gradients, the idle inference passes and the kernels' shared scratch
    /// buffers. The next step or call rebuilds what it needs.
    /// </summary>
    private void ReturnTrainingMemory()
    {
        _training.Forget();
        _training.Memory.Release();
        _training.Memory.Trim();
        _inferencePasses.Trim();
        foreach (Tensor parameter in Parameters)
            parameter.Grad = null;
        Memory.ScratchBuffers.Trim();
    }

    /// <summary>
    /// The state of one <c>Fit</c> call: the epoch loop, shared by the in-memory, streaming and
    /// asynchronous overloads, which differ only in where an epoch's batches come from.
    /// </summary>
    private sealed class TrainingRun
    {
        private readonly Model _model;
        private readonly Optimizer _optimizer;
        private readonly int _epochs, _accumulation;
        private readonly int? _batchesPerEpoch;
        private readonly Dataset? _validation;
        private readonly int _verbose;
        private readonly CallbackList _hooks;
        private readonly IProgress<TrainingProgress>? _progress;
        private readonly CancellationToken _cancellation;
        private readonly TrainingHistory _history = new();
        private readonly ProgressPrinter? _printer;
        private MetricTotals _totals = null!;
        private Stopwatch _clock = null!;
        private int _epoch, _batchInEpoch, _pending;
        private long _step;

        /// <summary>Epochs already done before this run (see <see cref="Model.InitialEpoch"/>).</summary>
        public int InitialEpoch { get; init; }

        public TrainingRun(Model model, int epochs, int? batchesPerEpoch, Dataset? validation, int verbose,
            IReadOnlyList<Callback>? callbacks, int gradientAccumulationSteps, IProgress<TrainingProgress>? progress, CancellationToken cancellation)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(epochs);
            ArgumentOutOfRangeException.ThrowIfLessThan(gradientAccumulationSteps, 1);
            _model = model;
            _optimizer = model.Optimizer ?? throw model.NotCompiled();
            _epochs = epochs;
            _batchesPerEpoch = batchesPerEpoch;
            _validation = validation;
            _verbose = verbose;
            _accumulation = gradientAccumulationSteps;
            _progress = progress;
            _cancellation = cancellation;
            _hooks = new CallbackList(model, callbacks);
            _printer = verbose > 0
                ? new ProgressPrinter(model.Output, batchesPerEpoch ?? 0, interactive: !Console.IsOutputRedirected && model.Output == Console.Out)
                : null;
        }

        public TrainingHistory Execute(Func<int, IEnumerable<Dataset>> epochBatches)
        {
            Begin();
            try
            {
                while (NextEpoch(out int epoch))
                {
                    foreach (Dataset batch in epochBatches(epoch))
                        if (!Batch(batch))
                            break;
                    EndEpoch();
                }
            }
            catch
            {
                Abandon();
                throw;
            }
            return End();
        }

        public async Task<TrainingHistory> ExecuteAsync(IAsyncEnumerable<Dataset> batches)
        {
            Begin();
            try
            {
                while (NextEpoch(out _))
                {
                    await foreach (Dataset batch in batches.WithCancellation(_cancellation).ConfigureAwait(false))
                        if (!Batch(batch))
                            break;
                    EndEpoch();
                }
            }
            catch
            {
                Abandon();
                throw;
            }
            return End();
        }

        private void Begin()
        {
            _model.StopTraining = false;
            _cancellation.ThrowIfCancellationRequested();
            _model.InitialEpoch = InitialEpoch;
            _hooks.TrainBegin();
            _epoch = _model.InitialEpoch; // a callback may have moved it (resuming from a backup)
        }

        private bool NextEpoch(out int epoch)
        {
            epoch = ++_epoch;
            if (epoch > _epochs || _model.StopTraining)
                return false;
            _printer?.StartEpoch(epoch, _epochs);
            _hooks.EpochBegin(epoch);
            _clock = Stopwatch.StartNew();
            _totals = new MetricTotals(_model.MetricPlan, _model.OutputNames());
            _batchInEpoch = 0;
            return true;
        }

        /// <summary>Trains on one batch; false when training should stop after it.</summary>
        private bool Batch(Dataset batch)
        {
            _cancellation.ThrowIfCancellationRequested();
            StepResult result = _model.ComputeGradients(batch, _step + 1, _hooks.ToleratesNonFiniteLoss);
            if (float.IsFinite(result.TotalValue) && ++_pending == _accumulation) // (a non-finite loss was not back-propagated: no update)
                Apply(_step + 1);
            _totals.Add(result, batch);
            _batchInEpoch++;
            _step++;
            float? accuracy = _totals.Accuracy;
            _printer?.Batch(_batchInEpoch, _totals, _clock.Elapsed);
            _progress?.Report(new TrainingProgress(_epoch, _epochs, _batchInEpoch, _batchesPerEpoch, _step, _totals.MeanLoss, accuracy, _clock.Elapsed));
            if (_hooks.Any)
                _hooks.BatchEnd(new BatchMetrics(_epoch, _batchInEpoch, _step, batch.Count, result.TotalValue, result.Accuracy));
            return !_model.StopTraining; // a stopped epoch is still evaluated and reported, as in Keras
        }

        private void Apply(long step)
        {
            _model.ApplyGradients(_optimizer, _pending, step);
            _pending = 0;
        }

        private void EndEpoch()
        {
            if (_pending > 0)
                Apply(_step); // the epoch's last, partial accumulation group
            if (_model.ProcessGroup is { } group)
                _totals.SumAcross(group); // every process reports (and its callbacks see) the global metrics
            double seconds = _clock.Elapsed.TotalSeconds;
            Evaluation? validation = _validation is null ? null : _model.Evaluate(_validation);
            Dictionary<string, float> outputs = _totals.PerOutput();
            if (validation is { } v)
                foreach ((string name, float value) in v.Outputs)
                    outputs["val_" + name] = value;
            Dictionary<string, float> compiled = _totals.Compiled();
            if (validation is { } w)
                foreach ((string name, float value) in w.Metrics)
                    compiled["val_" + name] = value;
            var metrics = new EpochMetrics(_epoch, _totals.MeanLoss, _totals.Accuracy, validation?.Loss, validation?.Accuracy,
                seconds, _totals.Examples / Math.Max(seconds, 1e-9)) { Outputs = outputs, Metrics = compiled };
            _history.Add(metrics);
            _printer?.EndEpoch(metrics, _batchInEpoch);
            _hooks.EpochEnd(metrics);
            if (Profiler.Enabled && _verbose > 0)
            {
                _model.Output.WriteLine(Profiler.Report());
                Profiler.Reset();
            }
        }

        private TrainingHistory End()
        {
            _model.ReturnTrainingMemory(); // nothing of the last step outlives Fit, nor its memory
            _hooks.TrainEnd(_history);
            return _history;
        }

        /// <summary>On cancellation or an error: no half-accumulated update is left behind, no step memory is held.</summary>
        private void Abandon()
        {
            _pending = 0;
            _model.DiscardGradients();
            _model.ReturnTrainingMemory();
        }
    }
}

/// <summary>Where <c>Fit</c> is, reported after every batch through <see cref="IProgress{T}"/>.</summary>
/// <param name="Epoch">Current epoch, from 1.</param>
/// <param name="Epochs">Epochs requested.</param>
/// <param name="Batch">Batches done in this epoch, from 1.</param>
/// <param name="BatchesPerEpoch">Batches per epoch, or null for a streamed source of unknown length.</param>
/// <param name="Step">Batches done since <c>Fit</c> started.</param>
/// <param name="Loss">Mean loss over the epoch so far.</param>
/// <param name="Accuracy">Accuracy over the epoch so far, for a classification loss.</param>
/// <param name="Elapsed">Time since the epoch started.</param>
public readonly record struct TrainingProgress(int Epoch, int Epochs, int Batch, int? BatchesPerEpoch, long Step,
    float Loss, float? Accuracy, TimeSpan Elapsed);
