using System.Diagnostics;
using System.Globalization;
using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Losses;

namespace NanoNet.Examples.MiniBatch;

/// <summary>The outcome of one run.</summary>
/// <param name="Spec">What was trained.</param>
/// <param name="Points">Training loss, windowed (see <see cref="LossRecorder"/>).</param>
/// <param name="Epochs">Validation metrics: epoch 0 (the untrained model), then one per epoch.</param>
/// <param name="Steps">Gradient steps taken.</param>
/// <param name="Examples">Examples seen.</param>
/// <param name="TrainingSeconds">Training wall time (validation excluded).</param>
/// <param name="NonFiniteAtStep">The step whose loss was NaN or infinite (Fit threw), or null.</param>
internal sealed record RunResult(RunSpec Spec, IReadOnlyList<LossPoint> Points, IReadOnlyList<EpochPoint> Epochs,
    long Steps, long Examples, double TrainingSeconds, long? NonFiniteAtStep)
{
    /// <summary>A windowed training loss above this multiple of the untrained model's loss counts as a blow-up.</summary>
    public const float BlowUpFactor = 1.5f;

    /// <summary>The untrained model's validation loss (about ln 10 ≈ 2.3 for ten classes).</summary>
    public float InitialLoss => Epochs.Count > 0 && Epochs[0].Epoch == 0 && Epochs[0].ValidationLoss is float loss ? loss : float.NaN;

    /// <summary>The highest windowed training loss.</summary>
    public float PeakLoss => Points.Count == 0 ? float.NaN : Points.Max(p => p.MeanLoss);

    /// <summary>
    /// True when the loss became non-finite, or when it blew up above <see cref="BlowUpFactor"/> × the
    /// untrained loss. The stable softmax cross-entropy rarely overflows: a too-large step usually kills the
    /// ReLUs instead, and the loss then settles at the chance level, ln 10, with no NaN to catch.
    /// </summary>
    public bool Diverged => NonFiniteAtStep is not null || PeakLoss > BlowUpFactor * InitialLoss;

    /// <summary>Validation accuracy after the last epoch; null when the loss became non-finite.</summary>
    public float? FinalValidationAccuracy => NonFiniteAtStep is null && Epochs.Count > 0 ? Epochs[^1].ValidationAccuracy : null;

    /// <summary>"finished", or how the run diverged.</summary>
    public string Status => NonFiniteAtStep is long step
        ? string.Create(CultureInfo.InvariantCulture, $"diverged: loss non-finite at step {step:N0}")
        : Diverged
            ? string.Create(CultureInfo.InvariantCulture, $"diverged: loss blew up to {PeakLoss:F2} (untrained {InitialLoss:F2})")
            : "finished";
}

/// <summary>
/// The mini-batch lesson: trains the Fashion-MNIST MLP once per configuration of <see cref="RunGroup.Lesson"/>
/// (a configuration shared by several groups runs once), then writes the CSVs, the SVG charts and the summary.
/// </summary>
internal static class MiniBatchLesson
{
    /// <summary>Seed of the weights and of the shuffling: every run starts from the same model.</summary>
    public const int Seed = 0;

    /// <summary>Parses the command line and runs; returns the process exit code.</summary>
    public static int Execute(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        LessonOptions options;
        try
        {
            options = LessonOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            error.WriteLine(e.Message);
            return 2;
        }
        return Run(options, output, error);
    }

    /// <summary>Runs the lesson with <paramref name="options"/>; returns the process exit code.</summary>
    public static int Run(LessonOptions options, TextWriter output, TextWriter error)
    {
        if (options.Threads is int threads)
            Parallelism.MaxThreads = threads;
        Dataset train, validation;
        try
        {
            (Dataset fullTrain, Dataset test) = FashionMnist.Load(options.DataDirectory);
            train = fullTrain.Take(options.TrainCount);
            validation = test.Take(options.ValidationCount);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or InvalidDataException)
        {
            error.WriteLine(e.Message);
            return 1;
        }

        IReadOnlyList<RunGroup> groups = RunGroup.Lesson(train.Count);
        List<RunSpec> specs = groups.SelectMany(g => g.Runs.Select(r => r.Spec)).Distinct().ToList();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Fashion-MNIST{(options.Quick ? " (quick)" : "")}: {train.Count:N0} training, {validation.Count:N0} validation images; " +
            $"{options.EpochsPerRun} epochs = {(long)options.EpochsPerRun * train.Count:N0} examples per run; {specs.Count} runs; {Parallelism.MaxThreads} thread(s)"));

        // Warm-up: JIT-compile every code path (each optimizer, the batch shapes) so the first timed run is not penalized.
        var clock = Stopwatch.StartNew();
        LessonOptions warmUp = options with { Epochs = 1 };
        foreach (RunSpec spec in specs)
            Train(spec, train.Take(256), validation.Take(256), warmUp);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Warm-up: {clock.Elapsed.TotalSeconds:F1} s"));

        var results = new Dictionary<RunSpec, RunResult>();
        clock.Restart();
        for (int i = 0; i < specs.Count; i++)
        {
            RunResult result = Train(specs[i], train, validation, options);
            results[specs[i]] = result;
            string accuracy = ResultFiles.Percent(result.FinalValidationAccuracy);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[{i + 1,2}/{specs.Count}] {result.Spec.Key,-24} {result.Steps,9:N0} steps {result.Examples,9:N0} examples {result.TrainingSeconds,7:F1} s  val acc {accuracy,7}  {result.Status}"));
        }

        Directory.CreateDirectory(options.OutputDirectory);
        ResultFiles.WriteAll(options.OutputDirectory, groups, results);
        Charts.WriteAll(options.OutputDirectory, groups, results);
        output.WriteLine();
        output.WriteLine(ResultFiles.SummaryTable(groups, results));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Wrote CSVs and SVG charts to {Path.GetFullPath(options.OutputDirectory)}; total {clock.Elapsed.TotalSeconds:F0} s"));
        return 0;
    }

    /// <summary>The MLP of examples/FashionMnist: Flatten → Dense(128, relu) → Dense(10, softmax).</summary>
    public static Sequential BuildModel(RunSpec spec)
    {
        var model = new Sequential([28, 28],
            new Flatten(),
            new Dense(128, ActivationFunction.Relu),
            new Dense(10, ActivationFunction.Softmax));
        model.Compile(spec.CreateOptimizer(), new SparseCategoricalCrossEntropy(), Seed);
        model.Output = TextWriter.Null;
        return model;
    }

    /// <summary>Trains one configuration, recording its loss per step; a divergence is recorded, not thrown.</summary>
    public static RunResult Train(RunSpec spec, Dataset train, Dataset validation, LessonOptions options)
    {
        Sequential model = BuildModel(spec);
        var recorder = new LossRecorder(options.LossWindow) { Initial = model.Evaluate(validation) };
        int batchSize = Math.Min(spec.BatchSize, train.Count);
        long? nonFiniteAt = null;
        try
        {
            model.Fit(train, batchSize, options.EpochsPerRun, shuffle: true, validation: validation, seed: Seed, verbose: 0, callbacks: [recorder]);
        }
        catch (ArithmeticException)
        {
            // The loss became NaN or infinite: the step after the last recorded one diverged.
            nonFiniteAt = recorder.Steps + 1;
            recorder.Flush();
        }
        return new RunResult(spec, recorder.Points, recorder.Epochs, recorder.Steps, recorder.ExamplesSeen, recorder.TrainingSeconds, nonFiniteAt);
    }
}
