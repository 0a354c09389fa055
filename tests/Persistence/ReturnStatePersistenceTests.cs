using NanoNet.Layers;
using NanoNet.Optim;
using NanoNet.Persistence;

namespace NanoNet.Tests;

/// <summary>
/// Model files of graphs that use a call's second and third outputs (return_state) and initial states: the
/// architecture stores which output of a call each consumer reads, and the loaded model predicts bit-identically.
/// </summary>
public class ReturnStatePersistenceTests
{
    private string _folder = "";

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("nanonet-return-state-").FullName;

    [TearDown]
    public void DeleteFolder() => Directory.Delete(_folder, recursive: true);

    /// <summary>
    /// An LSTM encoder whose h and c start a decoder, a Bidirectional GRU whose backward state is an output of
    /// its own, and the encoder's c as a third output.
    /// </summary>
    private static Model EncoderDecoder()
    {
        var source = new Input([5, 3], "source");
        var target = new Input([4, 2], "target");
        var (_, h, c) = new Lstm(6, returnState: true, dropout: 0.1f, name: "encoder").Call(source);
        SymbolicTensor decoded = new Lstm(6, returnSequences: true, name: "decoder").Call(target, [h, c]);
        var (_, forwardH, backwardH) = new Bidirectional(new Gru(3, returnSequences: true, returnState: true, goBackwards: true), "sum", name: "both")
            .Call(decoded);
        SymbolicTensor y = new Dense(2, name: "head").Call(decoded);
        var model = new Model([source, target], [y, backwardH, c], name: "seq2seq");
        model.Compile(new Adam(0.01f), [new MeanSquaredError(), new MeanSquaredError(), new MeanSquaredError()], seed: 7);
        _ = forwardH;
        return model;
    }

    [Test]
    public void AGraphReadingTheStatesOfCallsLoadsAndPredictsBitIdentically()
    {
        Model model = EncoderDecoder();
        Tensor[] inputs = [Tensor.RandomUniform([8, 5, 3], -1, 1, 1), Tensor.RandomUniform([8, 4, 2], -1, 1, 2)];
        Tensor[] targets = [Tensor.RandomUniform([8, 4, 2], -1, 1, 3), Tensor.RandomUniform([8, 3], -1, 1, 4), Tensor.RandomUniform([8, 6], -1, 1, 5)];
        model.Fit(new NanoNet.Data.Dataset(inputs, targets), batchSize: 4, epochs: 2, verbose: 0);
        string path = Path.Combine(_folder, "seq2seq.model.safetensors");
        model.Save(path);

        string architecture = SafeTensorsReader.Read(path).Metadata["architecture"];
        Assert.That(architecture, Does.Contain("\"output\":1").And.Contain("\"output\":2"), "consumers of h and c name the output they read");
        Assert.That(architecture, Does.Contain("\"return_state\""));

        Model loaded = Model.Load(path);
        Assert.That(loaded.Outputs.Select(o => o.Source), Is.EqualTo(new[] { "head", "both/backward_state_h", "encoder/state_c" }));
        Assert.That(((Lstm)loaded.GetLayer("encoder")).ReturnState, Is.True);
        Assert.That(((Bidirectional)loaded.GetLayer("both")).ReturnState, Is.True);
        Assert.That(((Lstm)loaded.GetLayer("decoder")).ReturnState, Is.False);
        Tensor[] expected = model.Predict(inputs), actual = loaded.Predict(inputs);
        for (int o = 0; o < expected.Length; o++)
            Assert.That(actual[o].ToArray(), Is.EqualTo(expected[o].ToArray()), $"output {o}");
        Assert.That(expected[1].ToArray(), Has.Some.Not.Zero);

        // Saved again, the loaded model writes the same architecture.
        string again = Path.Combine(_folder, "again.model.safetensors");
        loaded.Save(again);
        Assert.That(SafeTensorsReader.Read(again).Metadata["architecture"], Is.EqualTo(architecture));
    }

    [Test]
    public void AModelWithoutSeveralOutputsWritesNoOutputIndex()
    {
        // Files of graphs without multi-output calls keep the layout older readers know.
        var x = new Input([5, 3]);
        var model = new Model(x, new Dense(2).Call(new Lstm(4).Call(x)));
        model.Compile(new Sgd(0.1f), new MeanSquaredError());
        string path = Path.Combine(_folder, "plain.model.safetensors");
        model.Save(path);
        string architecture = SafeTensorsReader.Read(path).Metadata["architecture"];
        Assert.That(architecture, Does.Not.Contain("\"output\"").And.Not.Contain("return_state"));
    }

    [Test]
    public void AReferenceToAnOutputTheCallDoesNotHaveIsAClearError()
    {
        Model model = EncoderDecoder();
        string path = Path.Combine(_folder, "bad.model.safetensors");
        model.Save(path);
        SafeTensorsFile file = SafeTensorsReader.Read(path);
        var metadata = new Dictionary<string, string>(file.Metadata);
        metadata["architecture"] = metadata["architecture"].Replace("\"output\":2", "\"output\":7");
        SafeTensorsWriter.Write(path, [.. file.Tensors.Select(t => new KeyValuePair<string, Tensor>(t.Name, t.ToTensor()))], metadata);
        var e = Assert.Throws<InvalidDataException>(() => Model.Load(path))!;
        Assert.That(e.Message, Does.Contain("output: 7").And.Contain("not an input or an output of an earlier node"));
    }
}
