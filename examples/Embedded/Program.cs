// NanoNet on a device: one self-contained NativeAOT executable that trains an MLP (784-128-10) on
// Fashion-MNIST (synthetic 28x28 images when the data set is absent, or with --synthetic), saves the
// model with NanoNet.Persistence, loads it back and checks the loaded model predicts exactly what the
// trained one does. Exits 0 when every check passes, 1 when one fails, 2 on a bad option.
//
//   dotnet publish examples/Embedded -c Release -r linux-x64 -p:PublishAot=true [-p:IlcInstructionSet=native]
//   examples/Embedded/bin/Release/net10.0/linux-x64/publish/Embedded [--data DIR] [--synthetic] [--epochs N] [--train N] [--threads N]
//   ... Embedded --startup        # start-up only: build the model, predict one image, exit
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using NanoNet;
using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Losses;
using NanoNet.Optim;
using NanoNet.Persistence;

var started = Stopwatch.StartNew();
string dataDir = FashionMnist.DebianDirectory;
int epochs = 2, trainCount = 60_000, batchSize = 64;
bool synthetic = false, startupOnly = false;
var commandLine = new CommandLine(args);
try
{
    while (commandLine.Next(out string option))
    {
        switch (option)
        {
            case "--data": dataDir = commandLine.Text(); break;
            case "--synthetic": synthetic = true; break;
            case "--epochs": epochs = commandLine.Int(); break;
            case "--train": trainCount = commandLine.Int(); break;
            case "--threads": Parallelism.MaxThreads = commandLine.Int(); break;
            case "--startup": startupOnly = true; break;
            default:
                Console.Error.WriteLine($"Unknown option {option}. Options: --data DIR --synthetic --epochs N --train N --threads N --startup");
                return 2;
        }
    }
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

Sequential model = new([28, 28],
    new Flatten(),
    new Dense(128, ActivationFunction.Relu),
    new Dense(10, ActivationFunction.Softmax));
model.Compile(new Sgd(0.1f), new SparseCategoricalCrossEntropy(), seed: 0);

if (startupOnly)
{
    Tensor one = model.Predict(Tensor.Zeros(1, 28, 28));
    Console.WriteLine($"start-up: model built and one prediction ({one.Dim(1)} classes) in {started.Elapsed.TotalMilliseconds:F1} ms since Main");
    return 0;
}

string runtime = RuntimeFeature.IsDynamicCodeSupported ? "JIT" : "NativeAOT";
string vectors = Vector512.IsHardwareAccelerated ? "512-bit" : Vector256.IsHardwareAccelerated ? "256-bit" : Vector128.IsHardwareAccelerated ? "128-bit" : "scalar";
Console.WriteLine($"{runtime}, {vectors} vectors, {Parallelism.MaxThreads} thread(s)");

Dataset train, test;
if (!synthetic && File.Exists(Path.Combine(dataDir, "train-images-idx3-ubyte.gz")))
{
    (train, test) = FashionMnist.Load(dataDir);
    train = train.Take(trainCount);
    test = test.Take(2_000);
    Console.WriteLine($"Fashion-MNIST from {dataDir}: {train.Count:N0} training, {test.Count:N0} test images");
}
else
{
    train = Synthetic(Math.Min(trainCount, 12_000), seed: 1);
    test = Synthetic(2_000, seed: 2);
    Console.WriteLine($"synthetic images ({(synthetic ? "--synthetic" : $"no Fashion-MNIST in {dataDir}")}): {train.Count:N0} training, {test.Count:N0} test");
}

int failures = 0;
void Check(string name, bool ok, string detail)
{
    Console.WriteLine($"{(ok ? "PASS" : "FAIL")} {name}: {detail}");
    if (!ok) failures++;
}

// Train one epoch at a time: the first epoch includes any warm-up (the JIT's), the last is steady state.
for (int epoch = 1; epoch <= epochs; epoch++)
{
    var clock = Stopwatch.StartNew();
    model.Fit(train, batchSize, epochs: 1, shuffle: true, seed: epoch, verbose: 0);
    clock.Stop();
    Console.WriteLine($"epoch {epoch}: {train.Count / clock.Elapsed.TotalSeconds:N0} samples/s ({clock.Elapsed.TotalMilliseconds:F0} ms)");
}
Evaluation trained = model.Evaluate(test);
Check("training", trained.Accuracy >= (synthetic ? 0.9f : 0.75f), $"test accuracy {trained.Accuracy:P1}, loss {trained.Loss:F4}");

string path = Path.Combine(Path.GetTempPath(), $"nanonet-embedded-{Environment.ProcessId}.model.safetensors");
try
{
    model.Save(path);
    Model loaded = Model.Load(path);
    float[] expected = model.Predict(test.Features).ToArray();
    var predictClock = Stopwatch.StartNew();
    float[] actual = loaded.Predict(test.Features).ToArray();
    predictClock.Stop();
    Check("save, load and predict", expected.AsSpan().SequenceEqual(actual),
        $"{test.Count:N0} predictions from the loaded model ({new FileInfo(path).Length:N0}-byte file, {test.Count / predictClock.Elapsed.TotalSeconds:N0} images/s)");
}
finally
{
    File.Delete(path);
}

Console.WriteLine($"embedded: {(failures == 0 ? "all checks passed" : $"{failures} check(s) failed")} in {started.Elapsed.TotalSeconds:F1} s");
return failures == 0 ? 0 : 1;

// Ten classes of 28x28 images: class k is a bright horizontal band at rows 2k+4..2k+7, plus noise.
static Dataset Synthetic(int count, int seed)
{
    var random = new Random(seed);
    var pixels = new float[count * 28 * 28];
    var labels = new float[count];
    for (int i = 0; i < count; i++)
    {
        int label = i % 10;
        labels[i] = label;
        Span<float> image = pixels.AsSpan(i * 784, 784);
        for (int p = 0; p < 784; p++)
        {
            int row = p / 28;
            image[p] = (row >= 2 * label + 4 && row < 2 * label + 8 ? 0.8f : 0f) + 0.3f * (float)random.NextDouble();
        }
    }
    return new Dataset(Tensor.FromArray(pixels, count, 28, 28), Tensor.FromArray(labels, count));
}
