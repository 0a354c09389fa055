// Fashion-MNIST with a multi-layer perceptron: 784 -> 128 (ReLU) -> 10 (softmax),
// sparse categorical cross-entropy, plain SGD (lr 0.1), mini-batches of 64, 10 epochs.
//
//   dotnet run -c Release --project examples/FashionMnist [-- --data DIR --epochs N --batch N --lr X --threads N --save PATH]
//
// Try --batch 1 (stochastic gradient descent) or --batch 60000 (batch gradient descent): the training
// loop is the same, only the batch size changes. --save PATH writes the trained model to PATH (model.Save).
using System.Diagnostics;
using NanoNet;
using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Optim;
using NanoNet.Persistence;
using NanoNet.Losses;

string dataDir = FashionMnist.DebianDirectory;
string? savePath = null;
int epochs = 10, batchSize = 64, seed = 0;
float learningRate = 0.1f;
var commandLine = new CommandLine(args);
try
{
    while (commandLine.Next(out string option))
    {
        switch (option)
        {
            case "--data": dataDir = commandLine.Text(); break;
            case "--epochs": epochs = commandLine.Int(); break;
            case "--batch": batchSize = commandLine.Int(); break;
            case "--lr": learningRate = commandLine.Float(); break;
            case "--threads": Parallelism.MaxThreads = commandLine.Int(); break;
            case "--seed": seed = commandLine.Int(); break;
            case "--save": savePath = commandLine.Text(); break;
            default:
                Console.Error.WriteLine($"Unknown option {option}. Options: --data DIR --epochs N --batch N --lr X --threads N --seed N --save PATH");
                return 2;
        }
    }
}
catch (ArgumentException e) // a missing or malformed value
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

Dataset train, test;
try
{
    (train, test) = FashionMnist.Load(dataDir);
}
catch (FileNotFoundException e)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}
Console.WriteLine($"Fashion-MNIST: {train.Count:N0} training and {test.Count:N0} test images from {dataDir}; {Parallelism.MaxThreads} thread(s)");

var model = new Sequential([28, 28],
    new Flatten(),
    new Dense(128, ActivationFunction.Relu),
    new Dense(10, ActivationFunction.Softmax));
model.Compile(new Sgd(learningRate), new SparseCategoricalCrossEntropy(), seed);
Console.WriteLine(model.Summary());

var clock = Stopwatch.StartNew();
model.Fit(train, batchSize, epochs, shuffle: true, validation: test, seed: seed);
clock.Stop();

Evaluation result = model.Evaluate(test);
Console.WriteLine($"Test accuracy: {result.Accuracy:P2} (loss {result.Loss:F4}); training wall time {clock.Elapsed.TotalSeconds:F1} s");
if (savePath is not null)
{
    model.Save(savePath);
    Console.WriteLine($"Saved the model to {savePath}");
}
return 0;
