// The package consumer test: what a user's program does with the NanoNet packages. It references
// NanoNet.Persistence from the local feed (nuget.config), checks the packages are the version asked
// for, trains a tiny classifier on synthetic data, saves it, loads it back and compares predictions.
// Prints "PASS name" / "FAIL name" per check and exits 1 if any failed.
//
//   dotnet pack -c Release -o artifacts/packages
//   NANONET_PACKAGES=$PWD/artifacts/packages dotnet run -c Release --project tests/PackageConsumer
using System.Reflection;
using NanoNet;
using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Losses;
using NanoNet.Optim;
using NanoNet.Persistence;

int failures = 0;
void Check(string name, bool ok, string detail)
{
    Console.WriteLine($"{(ok ? "PASS" : "FAIL")} {name}: {detail}");
    if (!ok) failures++;
}

// 1. The assemblies are the packed ones, of the expected version.
string expected = typeof(Program).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
    .First(a => a.Key == "NanoNetVersion").Value!;
foreach (Assembly assembly in new[] { typeof(Tensor), typeof(Sgd), typeof(Dataset), typeof(Model), typeof(ModelFiles) }.Select(t => t.Assembly))
{
    string version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "?";
    Check($"version {assembly.GetName().Name}", version.Split('+')[0] == expected, $"{version}, expected {expected}");
}

// 2. Three Gaussian blobs in 4 dimensions, 3 classes: a 4-16-3 MLP learns them in a few epochs.
const int count = 600, features = 4, classes = 3;
var random = new Random(7);
var x = new float[count * features];
var y = new float[count];
for (int i = 0; i < count; i++)
{
    int label = i % classes;
    y[i] = label;
    for (int j = 0; j < features; j++)
        x[i * features + j] = (j == label ? 2.5f : 0f) + (float)(random.NextDouble() * 2 - 1);
}
var data = new Dataset(Tensor.FromArray(x, count, features), Tensor.FromArray(y, count));
var model = new Sequential([features],
    new Dense(16, ActivationFunction.Relu),
    new Dense(classes, ActivationFunction.Softmax));
model.Compile(new Adam(0.01f), new SparseCategoricalCrossEntropy(), seed: 1);
model.Fit(data, batchSize: 32, epochs: 20, seed: 1, verbose: 0);
Evaluation trained = model.Evaluate(data);
Check("training", trained.Accuracy >= 0.95f, $"accuracy {trained.Accuracy:P1}, loss {trained.Loss:F4}");

// 3. Save, load, and predict identically.
string path = Path.Combine(Path.GetTempPath(), $"nanonet-consumer-{Environment.ProcessId}.model.safetensors");
try
{
    model.Save(path);
    Model loaded = Model.Load(path);
    float[] before = model.Predict(data.Features).ToArray();
    float[] after = loaded.Predict(data.Features).ToArray();
    Check("save and load", before.AsSpan().SequenceEqual(after), $"{before.Length} predictions, {new FileInfo(path).Length:N0}-byte file");
}
finally
{
    File.Delete(path);
}

Console.WriteLine(failures == 0 ? "package consumer: all checks passed" : $"package consumer: {failures} check(s) failed");
return failures == 0 ? 0 : 1;
