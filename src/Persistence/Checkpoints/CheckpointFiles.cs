using System.Text.Json;
using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Persistence;

/// <summary>
/// <c>model.SaveCheckpoint(path, state)</c> and <c>model.LoadCheckpoint(path)</c>: everything needed to
/// continue training exactly where it stopped — weights, the optimizer's state by parameter name and its
/// <c>Iterations</c> (the schedule position), epoch and step counters and named random-generator states —
/// in one safetensors file (layout: <c>CheckpointDocument.cs</c>), replaced atomically.
/// </summary>
/// <example><code>
/// model.SaveCheckpoint("run.ckpt", new TrainingState { Epoch = 2, RandomStates = { ["augmentation"] = augmentation.Random.State } });
/// // later, in a new process, after building and compiling the same model with the same optimizer:
/// TrainingState state = model.LoadCheckpoint("run.ckpt");
/// augmentation.Random.Restore(state.RandomStates["augmentation"]);
/// model.Fit(train, epochs: 4, seed: sameSeed, batchTransform: ..., initialEpoch: state.Epoch);
/// </code></example>
public static class CheckpointFiles
{
    /// <summary>The <c>format</c> metadata value of a checkpoint.</summary>
    public const string Format = "nanonet.checkpoint";

    /// <summary>The format version this library writes and reads.</summary>
    public const string FormatVersion = "1";

    /// <summary>Prefix of the weights' tensor names.</summary>
    internal const string WeightPrefix = "model/";

    /// <summary>Prefix of the optimizer state's tensor names (<c>optimizer/{state}/{parameter}</c>).</summary>
    internal const string OptimizerPrefix = "optimizer/";

    extension(Model model)
    {
        /// <summary>
        /// Writes a checkpoint of the compiled <paramref name="model"/> (weights and optimizer) and
        /// <paramref name="state"/> to <paramref name="path"/>: through a temporary file in the same folder,
        /// flushed to disk and renamed over the old one, so a crash while saving keeps the previous checkpoint.
        /// </summary>
        /// <exception cref="InvalidOperationException">The model is not compiled, or a trained parameter has no unique name.</exception>
        public void SaveCheckpoint(string path, TrainingState state) => Save(model, path, state, wrapStream: null);

        /// <summary>
        /// Loads a checkpoint into the compiled <paramref name="model"/>: its weights, and the state and
        /// <c>Iterations</c> of its optimizer (which must be of the type that was saved). Returns the
        /// training position; restore its <see cref="TrainingState.RandomStates"/> into your generators
        /// and pass <see cref="TrainingState.Epoch"/> to <c>Fit</c> as <c>initialEpoch</c>.
        /// </summary>
        /// <exception cref="InvalidDataException">
        /// The file is malformed, not a checkpoint, of an unknown version, or its weights or optimizer state
        /// do not fit the model; the message names the file. The model is unchanged.
        /// </exception>
        /// <exception cref="InvalidOperationException">The model is not compiled.</exception>
        public TrainingState LoadCheckpoint(string path)
        {
            ArgumentNullException.ThrowIfNull(model);
            Optimizer optimizer = RequireOptimizer(model);
            return Apply(model, optimizer, SafeTensorsReader.Read(path));
        }

        /// <summary>Like <see cref="LoadCheckpoint(Model, string)"/>, from a seekable stream; <paramref name="fileName"/> names it in errors.</summary>
        /// <exception cref="InvalidDataException">The bytes are malformed, not a checkpoint, or do not fit the model; the model is unchanged.</exception>
        /// <exception cref="InvalidOperationException">The model is not compiled.</exception>
        public TrainingState LoadCheckpoint(Stream stream, string fileName)
        {
            ArgumentNullException.ThrowIfNull(model);
            Optimizer optimizer = RequireOptimizer(model);
            return Apply(model, optimizer, SafeTensorsReader.Read(stream, fileName));
        }
    }

    /// <summary><see cref="SaveCheckpoint"/> with a test seam that wraps the file stream (to fail in mid-write).</summary>
    internal static void Save(Model model, string path, TrainingState state, Func<Stream, Stream>? wrapStream)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(state);
        ArgumentOutOfRangeException.ThrowIfNegative(state.Epoch);
        ArgumentOutOfRangeException.ThrowIfNegative(state.Step);
        Optimizer optimizer = RequireOptimizer(model);

        var tensors = new List<KeyValuePair<string, Tensor>>();
        foreach ((string name, Tensor weight) in WeightMatching.Named(model))
            tensors.Add(new(WeightPrefix + name, weight));
        Dictionary<string, Tensor> parameters = ParametersByName(model);
        foreach (OptimizerStateBuffer buffer in optimizer.GetState())
        {
            int[] shape = parameters.TryGetValue(buffer.ParameterName, out Tensor? parameter) ? parameter.Shape.ToArray() : [buffer.Values.Length];
            tensors.Add(new($"{OptimizerPrefix}{buffer.StateName}/{buffer.ParameterName}", Tensor.FromArray(buffer.Values.ToArray(), shape)));
        }
        var document = new CheckpointDocument(state.Epoch, state.Step, new OptimizerDocument(optimizer.GetType().Name, optimizer.Iterations, optimizer.Lazy),
            [.. state.RandomStates.Select(r => new RandomStateDocument(r.Key, r.Value.Seed, r.Value.Stream, r.Value.Position))]);
        var metadata = new Dictionary<string, string>
        {
            ["format"] = Format,
            ["format_version"] = FormatVersion,
            ["training"] = JsonSerializer.Serialize(document, CheckpointJson.Default.CheckpointDocument),
        };
        AtomicFile.Write(path, stream => SafeTensorsWriter.Write(stream, tensors, metadata), wrapStream);
    }

    private static TrainingState Apply(Model model, Optimizer optimizer, SafeTensorsFile file)
    {
        string name = file.FileName;
        if (!file.Metadata.TryGetValue("format", out string? format) || format != Format)
            throw new InvalidDataException($"{name}: not a NanoNet checkpoint: its __metadata__ \"format\" is " +
                (format is null ? "missing" : $"\"{format}\"") + $", not \"{Format}\".");
        if (!file.Metadata.TryGetValue("format_version", out string? version))
            throw new InvalidDataException($"{name}: the checkpoint has no \"format_version\".");
        if (version != FormatVersion)
            throw new InvalidDataException($"{name}: checkpoint format version \"{version}\" is not supported; this NanoNet reads version {FormatVersion}.");
        if (!file.Metadata.TryGetValue("training", out string? training))
            throw new InvalidDataException($"{name}: the checkpoint has no \"training\" document in its __metadata__.");
        CheckpointDocument document = ParseTraining(training, name);

        string optimizerType = optimizer.GetType().Name;
        if (document.Optimizer.Type != optimizerType)
            throw new InvalidDataException($"{name}: the checkpoint holds the state of a {document.Optimizer.Type} optimizer, but the model is compiled with {optimizerType}.");
        if (document.Optimizer.Lazy != optimizer.Lazy)
            throw new InvalidDataException($"{name}: the checkpoint holds the state of a {(document.Optimizer.Lazy ? "lazy" : "dense (not lazy)")} {optimizerType}, " +
                $"but the model is compiled with a {(optimizer.Lazy ? "lazy" : "dense")} one: the untouched rows' state would evolve differently. Compile with lazy: {document.Optimizer.Lazy.ToString().ToLowerInvariant()}.");

        var buffers = new List<OptimizerStateBuffer>();
        foreach (SafeTensor tensor in file.Tensors)
        {
            if (tensor.Name.StartsWith(WeightPrefix, StringComparison.Ordinal))
                continue;
            if (!tensor.Name.StartsWith(OptimizerPrefix, StringComparison.Ordinal))
                throw new InvalidDataException($"{name}: tensor '{tensor.Name}' is neither a weight ('{WeightPrefix}…') nor optimizer state ('{OptimizerPrefix}…').");
            string rest = tensor.Name[OptimizerPrefix.Length..];
            int slash = rest.IndexOf('/', StringComparison.Ordinal);
            if (slash <= 0 || slash == rest.Length - 1)
                throw new InvalidDataException($"{name}: optimizer tensor '{tensor.Name}' is not named '{OptimizerPrefix}{{state}}/{{parameter}}'.");
            if (!tensor.HasFloat32Values)
                throw new InvalidDataException($"{name}: optimizer tensor '{tensor.Name}' is stored as {tensor.DType}, which does not convert to float32.");
            buffers.Add(new OptimizerStateBuffer(rest[(slash + 1)..], rest[..slash], tensor.Values.ToArray()));
        }

        // Weights first (checked in full before anything changes); if the optimizer state then does not
        // fit, the weights are put back, so a failed load leaves the model as it was.
        float[][] previousWeights = [.. model.Weights.Select(w => w.Span.ToArray())];
        WeightMatching.Apply(model, file, WeightPrefix);
        try
        {
            optimizer.LoadState(document.Optimizer.Iterations, buffers, model.Parameters);
        }
        catch (ArgumentException e)
        {
            IReadOnlyList<Tensor> weights = model.Weights;
            for (int i = 0; i < weights.Count; i++)
                previousWeights[i].CopyTo(weights[i].Span);
            throw new InvalidDataException($"{name}: the optimizer state does not fit model '{model.Name}': {e.Message}", e);
        }

        var randomStates = new Dictionary<string, RandomStreamState>(StringComparer.Ordinal);
        foreach (RandomStateDocument random in document.RandomStates)
            if (!randomStates.TryAdd(random.Name, new RandomStreamState(random.Seed, random.Stream, random.Position)))
                throw new InvalidDataException($"{name}: random state '{random.Name}' appears twice.");
        return new TrainingState
        {
            Epoch = document.Epoch,
            Step = document.Step,
            RandomStates = randomStates,
            OptimizerIterations = document.Optimizer.Iterations,
        };
    }

    private static CheckpointDocument ParseTraining(string training, string name)
    {
        CheckpointDocument? document;
        try
        {
            document = JsonSerializer.Deserialize(training, CheckpointJson.Default.CheckpointDocument);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{name}: the checkpoint's \"training\" document is not valid ({e.Message}).", e);
        }
        if (document is null)
            throw new InvalidDataException($"{name}: the checkpoint's \"training\" document is null.");
        if (document.Epoch < 0 || document.Step < 0 || document.Optimizer.Iterations < 0)
            throw new InvalidDataException($"{name}: the checkpoint's epoch ({document.Epoch}), step ({document.Step}) and optimizer iterations ({document.Optimizer.Iterations}) must be non-negative.");
        return document;
    }

    private static Optimizer RequireOptimizer(Model model) =>
        model.Optimizer ?? throw new InvalidOperationException($"Model '{model.Name}' is not compiled: compile it with the optimizer of the run before saving or loading a checkpoint.");

    private static Dictionary<string, Tensor> ParametersByName(Model model)
    {
        var byName = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (Tensor parameter in model.Parameters)
            if (parameter.Name is { } parameterName)
                byName.TryAdd(parameterName, parameter);
        return byName;
    }
}
