using Microsoft.ML.OnnxRuntime;
using NanoNet.Layers;
using NanoNet.Losses;
using NanoNet.Optim;
using NanoNet.Persistence;

namespace NanoNet.Onnx.Tests;

/// <summary>
/// Runs a model in NanoNet and its ONNX export in ONNX Runtime on the same inputs and measures how far
/// apart the outputs are.
/// </summary>
internal static class OnnxAgreement
{
    /// <summary>The agreement every test asks for: max |NanoNet − ONNX Runtime| over every output value.</summary>
    public const float Tolerance = 1e-5f;

    /// <summary>Compiles <paramref name="model"/> (random weights from <paramref name="seed"/>) and gives every bias random values too, so bias layouts are checked.</summary>
    public static Model Compiled(Model model, int seed = 1)
    {
        model.Output = TextWriter.Null;
        model.Compile(new Sgd(0.01f), [.. model.Outputs.Select(_ => (Loss)new MeanSquaredError())], null, seed);
        var random = new Random(seed);
        foreach (Tensor weight in model.Weights)
            if (weight.Rank == 1)
                foreach (ref float value in weight.Span)
                    value = (float)(random.NextDouble() - 0.5);
        return model;
    }

    /// <summary>Uniform random values in [<paramref name="low"/>, <paramref name="high"/>) for a batch of <paramref name="rows"/> examples of <paramref name="input"/>'s shape.</summary>
    public static Tensor RandomBatch(Input input, int rows, int seed, float low = -1f, float high = 1f) =>
        Tensor.RandomUniform([rows, .. input.Shape.ToArray()], low, high, seed);

    /// <summary>Random whole-number token ids in [0, <paramref name="vocabulary"/>), stored as floats as NanoNet takes them.</summary>
    public static Tensor RandomIds(Input input, int rows, int vocabulary, int seed)
    {
        Tensor ids = RandomBatch(input, rows, seed, 0f, vocabulary);
        foreach (ref float id in ids.Span)
            id = MathF.Min(MathF.Floor(id), vocabulary - 1);
        return ids;
    }

    /// <summary>Exports to memory, runs both, checks the shapes and returns the largest absolute difference (also written to the test's output).</summary>
    public static float MaxAbsError(Model model, params Tensor[] inputs)
    {
        var bytes = new MemoryStream();
        model.ExportOnnx(bytes);
        using var session = new InferenceSession(bytes.ToArray());
        float error = MaxAbsError(session, model, inputs);
        TestContext.Out.WriteLine($"ONNX Runtime vs NanoNet: max abs error {error:E2} ({bytes.Length:N0} bytes)");
        return error;
    }

    /// <summary>Runs <paramref name="session"/> and <paramref name="model"/> on <paramref name="inputs"/> and returns the largest absolute difference.</summary>
    public static float MaxAbsError(InferenceSession session, Model model, Tensor[] inputs)
    {
        Tensor[] expected = model.Predict(inputs);
        Assert.That(session.InputNames, Has.Count.EqualTo(inputs.Length), "ONNX inputs");
        Assert.That(session.OutputNames, Has.Count.EqualTo(expected.Length), "ONNX outputs");
        var feeds = new Dictionary<string, OrtValue>();
        try
        {
            for (int i = 0; i < inputs.Length; i++)
                feeds[session.InputNames[i]] = OrtValue.CreateTensorValueFromMemory(inputs[i].Span.ToArray(), [.. inputs[i].Shape.ToArray().Select(d => (long)d)]);
            using var options = new RunOptions();
            using IDisposableReadOnlyCollection<OrtValue> results = session.Run(options, feeds, session.OutputNames);
            float error = 0;
            for (int o = 0; o < expected.Length; o++)
            {
                long[] shape = results[o].GetTensorTypeAndShape().Shape;
                Assert.That(shape, Is.EqualTo(expected[o].Shape.ToArray().Select(d => (long)d).ToArray()), $"shape of output {session.OutputNames[o]}");
                ReadOnlySpan<float> actual = results[o].GetTensorDataAsSpan<float>();
                ReadOnlySpan<float> wanted = expected[o].Span;
                for (int i = 0; i < wanted.Length; i++)
                {
                    float difference = MathF.Abs(actual[i] - wanted[i]);
                    if (!(difference <= error)) // NaN counts as the worst
                        error = float.IsNaN(difference) ? float.PositiveInfinity : difference;
                }
            }
            return error;
        }
        finally
        {
            foreach (OrtValue value in feeds.Values)
                value.Dispose();
        }
    }
}
