// IMDB sentiment with the classic Keras text model:
//   Embedding(20000, 128) -> LSTM(128) -> Dense(2, softmax)
// sparse categorical cross-entropy, SGD (lr 0.01), batch 32, 10 epochs, reviews cut to their last 200 words
// (padded and truncated at the front, as Keras' pad_sequences does), a vocabulary of the 20,000 ids
// built on the training reviews; evaluated on the 25,000 test reviews.
//
//   dotnet run -c Release --project examples/TextLstm -- [--data PATH] [--epochs N] [--batch N] [--lr X]
//       [--optimizer sgd|momentum|nesterov|adagrad|rmsprop|adam|adamw] [--threads N] [--subset N] [--maxlen N]
//       [--vocab N] [--clipnorm X] [--mask] [--lazy] [--validation-split F] [--early-stopping N] [--seed N] [--save PATH]
//
// --data takes the official aclImdb_v1.tar.gz, its extracted aclImdb folder, or a folder holding either;
// without it NanoNet looks in $NANONET_DATA. --subset N trains on N random training reviews and tests on
// N random test reviews (a quick run). --clipnorm X clips the gradients' global norm to X. --mask makes
// id 0 padding that the LSTM skips (Keras' mask_zero=True). --lazy makes a stateful optimizer lazy (Optimizer.Lazy,
// like LazyAdam: only the embedding rows a batch used update their weights and moments). By default the test reviews are the per-epoch
// validation data, as in the Keras example; --validation-split F holds out a fraction F of the training
// reviews instead, and --early-stopping N stops when their loss has not improved for N epochs and restores
// the best epoch's weights (then the test set is touched only once, at the end). --save PATH writes the
// trained model to PATH (model.Save), its vocabulary to PATH.vocab.txt (one word per line in id order,
// VocabularyFile) and the class names to PATH.classes.txt, which is what examples/Predict reads to
// classify raw text: the same tokenizer, ids, length and front padding as here.
using System.Diagnostics;
using System.Globalization;
using NanoNet;
using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Optim;
using NanoNet.Persistence;
using NanoNet.Losses;

string? dataPath = null, savePath = null;
int epochs = 10, batchSize = 32, seed = 0, maxLength = 200, vocabularySize = 20_000;
int? subset = null;
float? learningRate = null; // null: the optimizer's Keras default (SGD: 0.01)
float? clipNorm = null;
string optimizerName = "sgd";
bool mask = false, lazy = false;
float validationSplit = 0f;
int earlyStoppingPatience = 0;
var commandLine = new CommandLine(args);
try
{
    while (commandLine.Next(out string option))
    {
        switch (option)
        {
            case "--data": dataPath = commandLine.Text(); break;
            case "--epochs": epochs = commandLine.Int(); break;
            case "--batch": batchSize = commandLine.Int(); break;
            case "--lr": learningRate = commandLine.Float(); break;
            case "--optimizer": optimizerName = commandLine.Text(); break;
            case "--threads": Parallelism.MaxThreads = commandLine.Int(); break;
            case "--subset": subset = commandLine.Int(); break;
            case "--maxlen": maxLength = commandLine.Int(); break;
            case "--vocab": vocabularySize = commandLine.Int(); break;
            case "--clipnorm": clipNorm = commandLine.Float(); break;
            case "--mask": mask = true; break;
            case "--lazy": lazy = true; break;
            case "--seed": seed = commandLine.Int(); break;
            case "--save": savePath = commandLine.Text(); break;
            case "--validation-split": validationSplit = commandLine.Float(); break;
            case "--early-stopping": earlyStoppingPatience = commandLine.Int(); break;
            default:
                Console.Error.WriteLine($"Unknown option {option}. Options: --data PATH --epochs N --batch N --lr X --optimizer NAME " +
                                        "--threads N --subset N --maxlen N --vocab N --clipnorm X --mask --lazy --validation-split F --early-stopping N --seed N --save PATH");
                return 2;
        }
    }
}
catch (ArgumentException e) // a missing or malformed value
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

// Check the optimizer name before the (slower) data loading.
Optimizer optimizer;
try
{
    optimizer = Optimizers.Create(optimizerName, learningRate, lazy);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

Dataset train, test;
Vocabulary vocabulary;
IReadOnlyList<string> classNames;
try
{
    var clock = Stopwatch.StartNew();
    string path = Imdb.Locate(dataPath);
    var (trainTexts, testTexts) = Imdb.ReadTexts(path);
    if (subset is int count)
    {
        // The splits are grouped by class: take seeded random subsets.
        trainTexts = trainTexts.RandomSubset(count, seed);
        testTexts = testTexts.RandomSubset(count, seed + 1);
    }
    classNames = trainTexts.ClassNames;
    vocabulary = Vocabulary.Build(trainTexts.Texts, vocabularySize);
    train = trainTexts.ToDataset(vocabulary, maxLength);
    test = testTexts.ToDataset(vocabulary, maxLength);
    Console.WriteLine($"IMDB from {path}: {train.Count:N0} training, {test.Count:N0} test reviews, vocabulary {vocabulary.Size:N0} ids, " +
                      $"length {maxLength}; loaded in {clock.Elapsed.TotalSeconds:F1} s; {Parallelism.MaxThreads} thread(s)");
}
catch (Exception e) when (e is FileNotFoundException or InvalidDataException or DirectoryNotFoundException)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}

var model = new Sequential([maxLength],
    new Embedding(vocabularySize, 128, maskZero: mask),
    new Lstm(128),
    new Dense(2, ActivationFunction.Softmax));
model.Compile(optimizer, new SparseCategoricalCrossEntropy(), seed);
if (clipNorm is float maxNorm)
    optimizer.GlobalClipNorm = maxNorm;
Console.WriteLine(model.Summary());
Console.WriteLine($"Optimizer: {(optimizer.Lazy ? "lazy " : "")}{optimizer.GetType().Name} (lr {optimizer.CurrentLearningRate}), batch {batchSize}, {epochs} epochs" +
                  (clipNorm is null ? "" : $", gradients clipped to global norm {clipNorm}") + (mask ? ", padding masked" : ""));

Dataset validation = test;
if (validationSplit > 0f)
{
    // Hold out a seeded random fraction of the training reviews (the splits are grouped by class).
    int[] order = Enumerable.Range(0, train.Count).ToArray();
    new RandomStream((ulong)seed).Shuffle<int>(order);
    int held = Math.Clamp((int)(train.Count * validationSplit), 1, train.Count - 1);
    validation = train.Gather(order[..held]);
    train = train.Gather(order[held..]);
    Console.WriteLine($"Validation: {validation.Count:N0} held-out training reviews; training on {train.Count:N0}");
}
Callback[]? callbacks = earlyStoppingPatience > 0
    ? [new EarlyStopping("val_loss", patience: earlyStoppingPatience, restoreBestWeights: true, verbose: true)]
    : null;

var wall = Stopwatch.StartNew();
TrainingHistory history = model.Fit(train, batchSize, epochs, shuffle: true, validation: validation, seed: seed, callbacks: callbacks);
wall.Stop();

Evaluation result = model.Evaluate(test);
double trainSeconds = history.Epochs.Sum(e => e.Seconds);
double sequencesPerSecond = (double)train.Count * history.Epochs.Count / trainSeconds;
Console.WriteLine($"Test accuracy: {result.Accuracy:P2} (loss {result.Loss:F4})");
Console.WriteLine($"Training: {trainSeconds / Math.Max(1, history.Epochs.Count):F1} s per epoch, {sequencesPerSecond:N0} sequences/s, " +
                  $"{sequencesPerSecond * maxLength:N0} tokens/s; total wall time {wall.Elapsed.TotalSeconds:F1} s (including per-epoch evaluation)");
if (savePath is not null)
{
    model.Save(savePath);
    VocabularyFile.Write(vocabulary, SavedModelFiles.VocabularyPath(savePath));
    SavedModelFiles.WriteClassNames(savePath, classNames);
    Console.WriteLine($"Saved the model to {savePath}, its vocabulary to {SavedModelFiles.VocabularyPath(savePath)} and its class names to {SavedModelFiles.ClassNamesPath(savePath)}");
}
return 0;

