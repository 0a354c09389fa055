using System.Diagnostics;
using System.Globalization;
using System.Text;
using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Optim;
using NanoNet.Persistence;

namespace NanoNet.Tests;

/// <summary>
/// MultiHeadAttention: against a loop-by-loop reference of Keras's formula (every mask kind), PyTorch's
/// nn.MultiheadAttention when it is installed, central differences end to end, saving, and a Transformer
/// encoder block that learns.
/// </summary>
public class MultiHeadAttentionTests
{
    /// <summary>A built, initialised layer for the given per-example shapes, with random biases (so their layout is checked).</summary>
    private static MultiHeadAttention Built(MultiHeadAttention layer, int[][] shapes, int seed = 1)
    {
        layer.BuildFor(shapes);
        layer.InitializeWeights(new RandomStream((ulong)seed));
        foreach (Tensor weight in layer.Weights.Where(w => w.Name!.EndsWith("/bias", StringComparison.Ordinal)))
            Tensor.RandomUniform(weight.Shape.ToArray(), -0.5f, 0.5f, seed + 7).Span.CopyTo(weight.Span);
        return layer;
    }

    /// <summary>Keras's formula with plain loops in double: projections, scaled scores, masks as −10⁹, softmax over the keys, the output projection.</summary>
    private static float[] Reference(MultiHeadAttention layer, Tensor query, Tensor value, Tensor? key, Tensor? attentionMask, bool causal)
    {
        key ??= value;
        int n = query.Dim(0), tq = query.Dim(1), tv = value.Dim(1), heads = layer.NumHeads, kd = layer.KeyDim, vd = layer.ValueDim;
        int outputs = layer.OutputKernel.Dim(2);
        double[,,,] Project(Tensor x, Tensor kernel, Tensor? bias, int size)
        {
            int t = x.Dim(1), d = x.Dim(2);
            var result = new double[n, t, heads, size];
            for (int b = 0; b < n; b++)
                for (int s = 0; s < t; s++)
                    for (int h = 0; h < heads; h++)
                        for (int j = 0; j < size; j++)
                        {
                            double sum = bias is null ? 0 : bias[h * size + j];
                            for (int i = 0; i < d; i++)
                                sum += (double)x[(b * t + s) * d + i] * kernel[(i * heads + h) * size + j];
                            result[b, s, h, j] = sum;
                        }
            return result;
        }
        double[,,,] q = Project(query, layer.QueryKernel, layer.QueryBias, kd), k = Project(key, layer.KeyKernel, layer.KeyBias, kd);
        double[,,,] v = Project(value, layer.ValueKernel, layer.ValueBias, vd);
        var y = new float[n * tq * outputs];
        for (int b = 0; b < n; b++)
            for (int i = 0; i < tq; i++)
            {
                var context = new double[heads, vd];
                for (int h = 0; h < heads; h++)
                {
                    var scores = new double[tv];
                    for (int j = 0; j < tv; j++)
                    {
                        double dot = 0;
                        for (int c = 0; c < kd; c++)
                            dot += q[b, i, h, c] / Math.Sqrt(kd) * k[b, j, h, c];
                        bool kept = (attentionMask is null || attentionMask[(b * tq + i) * tv + j] != 0) && (!causal || j <= i);
                        scores[j] = kept ? dot : -1e9;
                    }
                    double max = scores.Max(), total = scores.Sum(s => Math.Exp(s - max));
                    for (int j = 0; j < tv; j++)
                        for (int c = 0; c < vd; c++)
                            context[h, c] += Math.Exp(scores[j] - max) / total * v[b, j, h, c];
                }
                for (int o = 0; o < outputs; o++)
                {
                    double sum = layer.OutputBias is null ? 0 : layer.OutputBias[o];
                    for (int h = 0; h < heads; h++)
                        for (int c = 0; c < vd; c++)
                            sum += context[h, c] * layer.OutputKernel[(h * vd + c) * outputs + o];
                    y[(b * tq + i) * outputs + o] = (float)sum;
                }
            }
        return y;
    }

    private static Tensor RandomMask(int n, int tq, int tv, int seed)
    {
        Tensor mask = Tensor.RandomUniform([n, tq, tv], 0f, 1f, seed);
        foreach (ref float m in mask.Span)
            m = m < 0.3f ? 0f : 1f;
        for (int b = 0; b < n; b++)
            for (int i = 0; i < tq; i++)
                mask[(b * tq + i) * tv] = 1f; // every query keeps a key
        return mask;
    }

    // heads, keyDim, valueDim, useBias, outputShape, separate key, attention mask, causal
    [TestCase(2, 3, null, true, null, false, false, false, TestName = "Self-attention shapes, Keras defaults")]
    [TestCase(3, 2, 4, true, 6, true, false, false, TestName = "Separate key, value_dim and output_shape")]
    [TestCase(2, 4, null, false, null, true, true, false, TestName = "Attention mask, no biases")]
    [TestCase(1, 5, 3, true, null, false, false, true, TestName = "Causal mask")]
    [TestCase(2, 3, null, true, 2, true, true, true, TestName = "Attention mask and causal mask together")]
    public void MatchesTheReference(int heads, int keyDim, int? valueDim, bool useBias, int? outputShape, bool separateKey, bool withMask, bool causal)
    {
        const int n = 3, tq = 5, tv = 6, dq = 7, dv = 4, dk = 3;
        Tensor query = Tensor.RandomNormal([n, tq, dq], 0f, 1f, 1), value = Tensor.RandomNormal([n, tv, dv], 0f, 1f, 2);
        Tensor? key = separateKey ? Tensor.RandomNormal([n, tv, dk], 0f, 1f, 3) : null;
        Tensor? mask = withMask ? RandomMask(n, tq, tv, 4) : null;
        var layer = new MultiHeadAttention(heads, keyDim, valueDim, useBias: useBias, outputShape: outputShape).WithCausalMask(causal);
        var shapes = new List<int[]> { new[] { tq, dq }, new[] { tv, dv } };
        var inputs = new List<Tensor> { query, value };
        if (separateKey || withMask)
        {
            shapes.Add(separateKey ? [tv, dk] : [tv, dv]);
            inputs.Add(key ?? value);
        }
        if (withMask)
        {
            shapes.Add([tq, tv]);
            inputs.Add(mask!);
        }
        Built(layer, [.. shapes]);
        Tensor y = layer.Forward(inputs, training: true);
        Assert.That(y.Shape.ToArray(), Is.EqualTo(new[] { n, tq, outputShape ?? dq }));
        Assert.That(y.ToArray(), Is.EqualTo(Reference(layer, query, value, key, mask, causal)).Within(2e-5f));
    }

    [Test]
    public void PaddingMasksOfTheValueHideThosePositionsAndTheOutputCarriesTheQuerysMask()
    {
        var layer = Built(new MultiHeadAttention(2, 3), [[4, 5], [4, 5]]);
        Tensor x = Tensor.RandomNormal([2, 4, 5], 0f, 1f, 5);
        x.Mask = Tensor.FromArray([1, 1, 1, 0, 0, 1, 1, 1], 2, 4);
        Tensor y = layer.Forward([x, x]);
        var attentionMask = new float[2 * 4 * 4];
        for (int b = 0; b < 2; b++)
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++)
                    attentionMask[(b * 4 + i) * 4 + j] = x.Mask[b * 4 + i] * x.Mask[b * 4 + j];
        // Steps of a masked query attend to nothing (uniformly): only the kept queries are compared.
        float[] expected = Reference(layer, x, x, null, Tensor.FromArray(attentionMask, 2, 4, 4), causal: false);
        for (int b = 0; b < 2; b++)
            for (int i = 0; i < 4; i++)
                if (x.Mask[b * 4 + i] != 0)
                    for (int o = 0; o < 5; o++)
                        Assert.That(y[(b * 4 + i) * 5 + o], Is.EqualTo(expected[(b * 4 + i) * 5 + o]).Within(2e-5f), $"example {b}, step {i}");
        Assert.That(y.Mask, Is.SameAs(x.Mask));
    }

    [TestCase(false, false)]
    [TestCase(true, true)]
    public void GradientsEndToEnd(bool separateKey, bool causalAndMask)
    {
        const int n = 2, tq = 3, tv = 3;
        var layer = new MultiHeadAttention(2, 3, valueDim: 2, outputShape: 4).WithCausalMask(causalAndMask);
        int[][] shapes = separateKey ? [[tq, 5], [tv, 3], [tv, 4], [tq, tv]] : [[tq, 5], [tv, 3]];
        Built(layer, shapes);
        Tensor mask = RandomMask(n, tq, tv, 9);
        var inputs = new List<Tensor> { GradientCheck.Random([n, tq, 5], 1), GradientCheck.Random([n, tv, 3], 2) };
        if (separateKey)
            inputs.Add(GradientCheck.Random([n, tv, 4], 3));
        int data = inputs.Count;
        inputs.AddRange(layer.Weights);
        GradientCheck.Check(t => layer.Forward(separateKey ? [t[0], t[1], t[2], mask] : [t[0], t[1]], training: true), [.. inputs], epsilon: 5e-3f);
        Assert.That(data, Is.GreaterThan(1));
    }

    [Test]
    public void DropoutActsOnlyWhileTrainingAndIsReproducibleFromItsSeed()
    {
        Tensor x = Tensor.RandomNormal([2, 4, 6], 0f, 1f, 5);
        var a = Built(new MultiHeadAttention(2, 3, dropout: 0.5f, seed: 3), [[4, 6], [4, 6]]);
        var b = Built(new MultiHeadAttention(2, 3, dropout: 0.5f, seed: 3), [[4, 6], [4, 6]]);
        Assert.That(a.Forward([x, x], training: true).ToArray(), Is.EqualTo(b.Forward([x, x], training: true).ToArray()), "same seed, same masks");
        Assert.That(a.Forward([x, x], training: true).ToArray(), Is.Not.EqualTo(a.Forward([x, x], training: false).ToArray()));
        Assert.That(a.Forward([x, x]).ToArray(), Is.EqualTo(Reference(a, x, x, null, null, false)).Within(2e-5f), "no dropout at inference");
    }

    [Test]
    public void KerasWeightNamesShapesAndBadShapes()
    {
        var layer = Built(new MultiHeadAttention(4, 8, valueDim: 6, outputShape: 10, name: "mha"), [[5, 16], [7, 12], [7, 9]]);
        Assert.That(layer.Weights.Select(w => $"{w.Name} {Shapes.Format(w.Shape)}"), Is.EqualTo(new[]
        {
            "mha/query/kernel (16, 4, 8)", "mha/query/bias (4, 8)", "mha/key/kernel (9, 4, 8)", "mha/key/bias (4, 8)",
            "mha/value/kernel (12, 4, 6)", "mha/value/bias (4, 6)", "mha/attention_output/kernel (4, 6, 10)", "mha/attention_output/bias (10)",
        }));
        Assert.That(layer.OutputShape.ToArray(), Is.EqualTo(new[] { 5, 10 }));
        var e = Assert.Throws<ArgumentException>(() => new MultiHeadAttention(2, 4, name: "bad").BuildFor([[5, 16], [7, 12], [6, 9]]));
        Assert.That(e!.Message, Does.Contain("'bad'").And.Contain("(None, 7, 12)").And.Contain("(None, 6, 9)"));
        var q = new Input([5, 8]);
        var m = new MultiHeadAttention(2, 4, name: "causal");
        m.Call(q, q, useCausalMask: true);
        Assert.Throws<ArgumentException>(() => m.Call(q, q));
    }

    [Test]
    public void ConfigRoundTripsAndAModelWithMasksSavesAndLoadsBitIdentically()
    {
        var query = new Input([5, 8], "query");
        var memory = new Input([6, 4], "memory");
        var mask = new Input([5, 6], "mask");
        var layer = new MultiHeadAttention(2, 3, valueDim: 5, dropout: 0.1f, outputShape: 7, seed: 4, name: "attention");
        SymbolicTensor attended = layer.Call(query, memory, attentionMask: mask);
        var self = new MultiHeadAttention(2, 4, useBias: false, name: "self");
        SymbolicTensor y = self.Call(attended, attended, useCausalMask: true);
        var model = new Model([query, memory, mask], [y], "attention_model");
        model.Compile(new Sgd(0.1f), new MeanSquaredError(), seed: 2);

        foreach (Layer l in model.Layers)
        {
            LayerConfig config = l.GetConfig();
            Assert.That(LayerRegistry.Create(config).GetConfig().ToString(), Is.EqualTo(config.ToString()));
        }
        Tensor[] inputs = [Tensor.RandomNormal([3, 5, 8], 0f, 1f, 1), Tensor.RandomNormal([3, 6, 4], 0f, 1f, 2), RandomMask(3, 5, 6, 3)];
        string path = Path.Combine(Path.GetTempPath(), $"mha-{Guid.NewGuid():N}.safetensors");
        try
        {
            model.Save(path);
            Model loaded = Model.Load(path);
            Assert.That(((MultiHeadAttention)loaded.GetLayer("self")).UseCausalMask, Is.True);
            Assert.That(((MultiHeadAttention)loaded.GetLayer("attention")).HasAttentionMask, Is.True);
            Assert.That(loaded.Predict(inputs)[0].ToArray(), Is.EqualTo(model.Predict(inputs)[0].ToArray()));
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// PyTorch 1.13's nn.MultiheadAttention (batch_first, causal bool mask) with the Keras weights mapped onto
    /// it: in_proj_weight rows are the (D, H·K) kernels transposed, out_proj.weight the (H·V, O) kernel transposed.
    /// Needs /usr/bin/python3 with torch; otherwise the test is ignored.
    /// </summary>
    [TestCase(false)]
    [TestCase(true)]
    public void AgreesWithPyTorch(bool causal)
    {
        const int n = 2, t = 5, e = 8, heads = 2;
        var layer = Built(new MultiHeadAttention(heads, e / heads).WithCausalMask(causal), [[t, e], [t, e]]);
        Tensor x = Tensor.RandomNormal([n, t, e], 0f, 1f, 11);
        Tensor y = layer.Forward([x, x]);

        static string List(ReadOnlySpan<float> values)
        {
            var text = new StringBuilder("[");
            foreach (float v in values)
                text.Append(v.ToString("R", CultureInfo.InvariantCulture)).Append(',');
            text[^1] = ']';
            return text.ToString();
        }
        string script = $$"""
            import json, torch
            n, t, e, h = {{n}}, {{t}}, {{e}}, {{heads}}
            T = lambda v, *s: torch.tensor(v, dtype=torch.float64).reshape(*s)
            x = T({{List(x.Span)}}, n, t, e)
            mha = torch.nn.MultiheadAttention(e, h, batch_first=True, dtype=torch.float64)
            with torch.no_grad():
                mha.in_proj_weight.copy_(torch.cat([T({{List(layer.QueryKernel.Span)}}, e, e).T, T({{List(layer.KeyKernel.Span)}}, e, e).T, T({{List(layer.ValueKernel.Span)}}, e, e).T]))
                mha.in_proj_bias.copy_(torch.cat([T({{List(layer.QueryBias!.Span)}}, e), T({{List(layer.KeyBias!.Span)}}, e), T({{List(layer.ValueBias!.Span)}}, e)]))
                mha.out_proj.weight.copy_(T({{List(layer.OutputKernel.Span)}}, e, e).T)
                mha.out_proj.bias.copy_(T({{List(layer.OutputBias!.Span)}}, e))
                mask = torch.triu(torch.ones(t, t, dtype=torch.bool), 1) if {{(causal ? "True" : "False")}} else None
                y, _ = mha(x, x, x, attn_mask=mask, need_weights=False)
            print(json.dumps(y.flatten().tolist()))
            """;
        string? output = RunPython(script);
        if (output is null)
            Assert.Ignore("/usr/bin/python3 with torch is not available");
        float[] torchY = [.. output!.Trim().Trim('[', ']').Split(',').Select(s => float.Parse(s, CultureInfo.InvariantCulture))];
        float error = y.ToArray().Zip(torchY, (a, b) => MathF.Abs(a - b)).Max();
        TestContext.Out.WriteLine($"max |NanoNet − torch| = {error:E2}");
        Assert.That(torchY, Has.Length.EqualTo(y.Length));
        Assert.That(error, Is.LessThan(1e-5f));
    }

    private static string? RunPython(string script)
    {
        const string python = "/usr/bin/python3";
        if (!File.Exists(python))
            return null;
        var start = new ProcessStartInfo(python, ["-c", script]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using Process process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd(), errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0 && errors.Contains("No module named 'torch'", StringComparison.Ordinal))
            return null;
        Assert.That(process.ExitCode, Is.Zero, errors);
        return output;
    }

    /// <summary>
    /// A Transformer encoder block (self-attention + residual Add + LayerNormalization, then a feed-forward
    /// Dense pair + residual + LayerNormalization), Functional API, learns which position holds a sequence's
    /// largest value: a task no position-wise model solves, with chance at 1/8.
    /// </summary>
    [Test]
    public void ATransformerEncoderBlockLearnsToFindTheLargestValue()
    {
        const int steps = 8, width = 16;
        (Tensor x, Tensor labels) Task(int count, int seed)
        {
            var random = new Random(seed);
            var features = new float[count * steps * (steps + 1)];
            var targets = new float[count];
            for (int s = 0; s < count; s++)
            {
                int best = 0;
                float bestValue = float.NegativeInfinity;
                for (int p = 0; p < steps; p++)
                {
                    float v = (float)random.NextDouble() * 2f - 1f;
                    features[(s * steps + p) * (steps + 1)] = v;
                    features[(s * steps + p) * (steps + 1) + 1 + p] = 1f; // the position, one-hot
                    if (v > bestValue)
                        (best, bestValue) = (p, v);
                }
                targets[s] = best;
            }
            return (Tensor.FromArray(features, count, steps, steps + 1), Tensor.FromArray(targets, count));
        }

        var tokens = new Input([steps, steps + 1], "tokens");
        SymbolicTensor h = new Dense(width).Call(tokens);
        SymbolicTensor attended = new MultiHeadAttention(2, 8).Call(h, h);
        h = new LayerNormalization().Call(new Add().Call(h, attended));
        SymbolicTensor fed = new Dense(width).Call(new Dense(32, ActivationFunction.Relu).Call(h));
        h = new LayerNormalization().Call(new Add().Call(h, fed));
        SymbolicTensor output = new Dense(steps, ActivationFunction.Softmax).Call(new GlobalAveragePooling1D().Call(h));
        var model = new Model(tokens, output, "encoder") { Output = TextWriter.Null };
        model.Compile(new Adam(0.005f), new SparseCategoricalCrossEntropy(), seed: 1);

        (Tensor trainX, Tensor trainY) = Task(2048, 1);
        (Tensor testX, Tensor testY) = Task(512, 2);
        TrainingHistory history = model.Fit(new Dataset(trainX, trainY), batchSize: 32, epochs: 12, verbose: 0);
        Evaluation test = model.Evaluate(new Dataset(testX, testY));
        TestContext.Out.WriteLine($"loss {history.Epochs[0].Loss:F3} → {history.Epochs[^1].Loss:F3}; held-out accuracy {test.Accuracy:P1}, loss {test.Loss:F3}");
        Assert.That(test.Loss, Is.LessThan(0.5f), "chance is ln 8 = 2.08");
        Assert.That(test.Accuracy, Is.GreaterThan(0.85f));
    }
}
