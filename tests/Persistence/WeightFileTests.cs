using System.Buffers.Binary;
using NanoNet.Layers;
using NanoNet.Optim;
using NanoNet.Persistence;
using static NanoNet.Tests.PersistenceModels;

namespace NanoNet.Tests;

/// <summary>SaveWeights / LoadWeights: names, exact checks with every difference reported, F16/BF16 from elsewhere.</summary>
public class WeightFileTests
{
    private string _path = "";

    [SetUp]
    public void NewPath() => _path = TemporaryPath();

    [TearDown]
    public void DeleteFile() => File.Delete(_path);

    [Test]
    public void WeightsLoadIntoAnUncompiledModelThatThenPredictsAndKeepsThemWhenCompiled()
    {
        Sequential trained = Cifar(seed: 7);
        trained.SaveWeights(_path);
        SafeTensorsFile file = SafeTensorsReader.Read(_path);
        Assert.That(file.Tensors.Select(t => t.Name), Is.EqualTo(new[] { "conv2d/kernel", "conv2d/bias", "dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias" }));
        Assert.That(file.Metadata["format"], Is.EqualTo("nanonet.weights"));

        var fresh = new Sequential([32, 32, 3], new Conv2D(32, 3, activation: ActivationFunction.Relu), new MaxPool2D(2), new Flatten(),
            new Dense(128, ActivationFunction.Relu), new Dense(10, ActivationFunction.Softmax));
        fresh.LoadWeights(_path);
        Tensor images = Random([4, 32, 32, 3], seed: 3, 0, 1);
        Tensor expected = trained.Predict(images);
        Assert.That(BitIdentical(fresh.Predict(images), expected), Is.True);
        fresh.Compile(new Sgd(), new SparseCategoricalCrossEntropy(), seed: 123);
        Assert.That(BitIdentical(fresh.Predict(images), expected), Is.True);
    }

    [Test]
    public void EveryDifferenceIsReportedAndNothingChanges()
    {
        var saved = new Sequential([5], new Dense(4, name: "a"), new Dense(3, name: "b"), new Dense(2, name: "extra"));
        saved.Compile(new Sgd(), new MeanSquaredError());
        saved.SaveWeights(_path);
        var other = new Sequential([5], new Dense(4, name: "a"), new Dense(6, name: "b"), new Dense(2, name: "c"));
        other.Compile(new Sgd(), new MeanSquaredError(), seed: 1);
        float[][] before = [.. other.Weights.Select(w => w.ToArray())];

        var e = Assert.Throws<InvalidDataException>(() => other.LoadWeights(_path))!;
        Assert.That(e.Message, Does.StartWith(_path + ":").And.Contain("model 'sequential'").And.Contain("6 problems"));
        Assert.That(e.Message, Does.Contain("'b/kernel' has shape (4, 3) in the file, the model expects (4, 6)"));
        Assert.That(e.Message, Does.Contain("'b/bias' has shape (3) in the file, the model expects (6)"));
        Assert.That(e.Message, Does.Contain("missing 'c/kernel' (6, 2)").And.Contain("missing 'c/bias' (2)"));
        Assert.That(e.Message, Does.Contain("unexpected 'extra/kernel' F32 (3, 2)").And.Contain("unexpected 'extra/bias' F32 (2)"));
        Assert.That(other.Weights.Select(w => w.ToArray()), Is.EqualTo(before));
    }

    [Test]
    public void HalfAndBFloat16WeightsFromElsewhereLoadByConversion()
    {
        var model = new Sequential([2], new Dense(2, name: "d"));
        float[] kernel = [0.5f, -1.25f, 3f, 0.0078125f], bias = [1f, -2f];
        // Written by hand as another tool would: the kernel in F16, the bias in BF16, metadata-free.
        string header = "{\"d/kernel\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,8]},\"d/bias\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[8,12]}}";
        header = header.PadRight((header.Length + 7) / 8 * 8);
        var bytes = new byte[8 + header.Length + 12];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        System.Text.Encoding.ASCII.GetBytes(header).CopyTo(bytes, 8);
        for (int i = 0; i < 4; i++)
            BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(8 + header.Length + 2 * i), (Half)kernel[i]);
        for (int i = 0; i < 2; i++)
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8 + header.Length + 8 + 2 * i), (ushort)(BitConverter.SingleToInt32Bits(bias[i]) >> 16));
        File.WriteAllBytes(_path, bytes);

        model.LoadWeights(_path);
        Assert.That(model.GetLayer("d").Weights[0].ToArray(), Is.EqualTo(kernel));
        Assert.That(model.GetLayer("d").Weights[1].ToArray(), Is.EqualTo(bias));
        Tensor y = model.Predict(Tensor.FromArray([1f, 1f], 1, 2));
        Assert.That(y.ToArray(), Is.EqualTo(new[] { 0.5f + 3f + 1f, -1.25f + 0.0078125f - 2f }));
    }
}
