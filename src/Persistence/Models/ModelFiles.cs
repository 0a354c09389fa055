using System.Text.Json;
using NanoNet.Layers;

namespace NanoNet.Persistence;

/// <summary>
/// <c>model.Save(path)</c> and <c>Model.Load(path)</c>: a whole model in one safetensors file. Its
/// <c>__metadata__</c> holds <c>"format": "nanonet.model"</c>, <c>"format_version": "1"</c> and
/// <c>"architecture"</c> (a JSON document of the inputs, every layer's config, the calls and the
/// outputs); its tensors are the weights, named as in <see cref="WeightFiles"/>. A loaded model predicts
/// at once, bit-identically to the saved one; it needs <c>Compile</c> before <c>Fit</c>.
/// </summary>
public static class ModelFiles
{
    /// <summary>The <c>format</c> metadata value of a model file.</summary>
    public const string Format = "nanonet.model";

    /// <summary>The format version this library writes and reads.</summary>
    public const string FormatVersion = "1";

    extension(Model model)
    {
        /// <summary>Writes the architecture and every weight to <paramref name="path"/>, replacing it atomically.</summary>
        /// <exception cref="InvalidOperationException">The model has not been compiled, or a layer's config holds a value a file cannot.</exception>
        public void Save(string path)
        {
            ArgumentNullException.ThrowIfNull(model);
            List<KeyValuePair<string, Tensor>> weights = WeightMatching.Named(model);
            string architecture = JsonSerializer.Serialize(ArchitectureDescription.Of(model), ArchitectureJson.Default.ArchitectureDocument);
            SafeTensorsWriter.Write(path, weights, new Dictionary<string, string>
            {
                ["format"] = Format,
                ["format_version"] = FormatVersion,
                ["architecture"] = architecture,
            });
        }
    }

    extension(Model)
    {
        /// <summary>
        /// Loads a model saved with <c>Save</c>: rebuilds its layers through <see cref="LayerRegistry"/>
        /// (register custom layers first) and its graph, then loads the weights. A <see cref="Sequential"/>
        /// loads as a <see cref="Sequential"/>.
        /// </summary>
        /// <exception cref="InvalidDataException">
        /// The file is malformed, not a model file, of an unknown format version, lacks the architecture,
        /// names a layer type that is not registered, or its weights do not fit; the message names the file.
        /// </exception>
        public static Model Load(string path) => Read(SafeTensorsReader.Read(path));

        /// <summary>Like <c>Load(path)</c>, from a seekable stream; <paramref name="fileName"/> names it in errors.</summary>
        /// <exception cref="InvalidDataException">As for <c>Load(path)</c>.</exception>
        public static Model Load(Stream stream, string fileName) => Read(SafeTensorsReader.Read(stream, fileName));
    }

    private static Model Read(SafeTensorsFile file)
    {
        string name = file.FileName;
        if (!file.Metadata.TryGetValue("format", out string? format))
            throw new InvalidDataException($"{name}: not a NanoNet model file: its __metadata__ has no \"format\" (a weights-only file loads with LoadWeights into a model you build).");
        if (format != Format)
            throw new InvalidDataException($"{name}: not a NanoNet model file: its format is \"{format}\", not \"{Format}\"" +
                (format == WeightFiles.Format ? " (a weights file loads with LoadWeights into a model you build)." : "."));
        if (!file.Metadata.TryGetValue("format_version", out string? version))
            throw new InvalidDataException($"{name}: the model file has no \"format_version\".");
        if (version != FormatVersion)
            throw new InvalidDataException($"{name}: model format version \"{version}\" is not supported; this NanoNet reads version {FormatVersion}.");
        if (!file.Metadata.TryGetValue("architecture", out string? architecture))
            throw new InvalidDataException($"{name}: the model file has no \"architecture\" in its __metadata__.");

        ArchitectureDocument? document;
        try
        {
            document = JsonSerializer.Deserialize(architecture, ArchitectureJson.Default.ArchitectureDocument);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{name}: the architecture is not a valid architecture document ({e.Message}).", e);
        }
        if (document is null)
            throw new InvalidDataException($"{name}: the architecture is null.");

        Model model = ArchitectureRebuild.Build(document, file.ElementCount, name);
        WeightMatching.Apply(model, file);
        return model;
    }
}
