// A character-level language model on Tiny Shakespeare (Karpathy's char-rnn task):
//   Embedding(65, 64) -> LSTM(256, return sequences, stateful) -> Dense(65, softmax)
// trained with truncated back-propagation through time over the continuous text: the stream is cut into
// `batch` lanes, each batch holds the next `seq` characters of every lane, and the LSTM carries its
// state from one batch to the next (no gradient crosses a batch). The last 10% of the text is the
// validation set. After training the model writes text, one character at a time, from a seed string.
//
//   dotnet run -c Release --project examples/CharLstm -- [--data PATH] [--epochs N] [--batch N] [--seq N]
//       [--units N] [--embed N] [--lr X] [--optimizer adam|sgd|rmsprop|...] [--clipnorm X] [--threads N] [--subset CHARS]
//       [--temperature X] [--start TEXT] [--length N] [--seed N] [--save PATH]
//
// --data takes tinyshakespeare.txt (or char-rnn's input.txt) or its folder; without it NanoNet looks in
// $NANONET_DATA. --subset trains on the first CHARS characters only (a quick run). --save PATH writes the
// trained model (architecture and weights, model.Save: Model.Load rebuilds it) to PATH after training: the
// training model, which reads `seq` character ids at a time with a stateful LSTM; the ids are the corpus's
// (CharCorpus) and are not saved with it.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using NanoNet;
using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Optim;
using NanoNet.Persistence;
using NanoNet.Losses;

string? dataPath = null, savePath = null;
int epochs = 10, batchSize = 64, length = 100, units = 256, embedding = 64, sampleLength = 600, seed = 0;
int? subset = null;
float? learningRate = null; // null: 0.005 for Adam (the default), 1.0 for plain SGD, else the optimizer's Keras default
float clipNorm = 5f, temperature = 0.8f;
string optimizerName = "adam", start = "ROMEO:\n";
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
            case "--seq": length = commandLine.Int(); break;
            case "--units": units = commandLine.Int(); break;
            case "--embed": embedding = commandLine.Int(); break;
            case "--lr": learningRate = commandLine.Float(); break;
            case "--optimizer": optimizerName = commandLine.Text(); break;
            case "--clipnorm": clipNorm = commandLine.Float(); break;
            case "--threads": Parallelism.MaxThreads = commandLine.Int(); break;
            case "--subset": subset = commandLine.Int(); break;
            case "--temperature": temperature = commandLine.Float(); break;
            case "--start": start = commandLine.Text().Replace("\\n", "\n", StringComparison.Ordinal); break;
            case "--length": sampleLength = commandLine.Int(); break;
            case "--seed": seed = commandLine.Int(); break;
            case "--save": savePath = commandLine.Text(); break;
            default:
                Console.Error.WriteLine($"Unknown option {option}. Options: --data PATH --epochs N --batch N --seq N --units N --embed N " +
                                        "--lr X --optimizer NAME --clipnorm X --threads N --subset CHARS --temperature X --start TEXT --length N --seed N --save PATH");
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
    optimizer = Optimizers.Create(optimizerName, learningRate ?? optimizerName switch { "adam" => 0.005f, "sgd" => 1f, _ => null });
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

CharCorpus corpus;
try
{
    corpus = TinyShakespeare.Load(TinyShakespeare.Locate(dataPath));
}
catch (Exception e) when (e is FileNotFoundException or InvalidDataException)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}
foreach (char c in start)
    if (!corpus.Contains(c))
    {
        Console.Error.WriteLine($"The start text contains '{c}', which is not in the corpus.");
        return 2;
    }

var (trainIds, validationIds) = corpus.Split(0.1);
if (subset is int count)
    trainIds = trainIds[..Math.Clamp(count, batchSize * length + 1, trainIds.Length)];
Dataset train = NextTokenSequences.ContinuousBatches(trainIds, batchSize, length);
Dataset validation = NextTokenSequences.ContinuousBatches(validationIds, batchSize, length);
int vocabulary = corpus.VocabularySize;
double unigram = UnigramCrossEntropy(trainIds, validationIds, vocabulary);
Console.WriteLine($"Tiny Shakespeare: {corpus.Length:N0} characters, {vocabulary} distinct; training on {trainIds.Length:N0}, " +
                  $"validating on {validationIds.Length:N0}; {Parallelism.MaxThreads} thread(s)");
Console.WriteLine($"Baselines on the validation text: uniform ln {vocabulary} = {Math.Log(vocabulary):F3}, unigram (character frequencies) = {unigram:F3} nats/char");

var lstm = new Lstm(units, returnSequences: true, stateful: true);
var model = new Sequential([length], new Embedding(vocabulary, embedding), lstm, new Dense(vocabulary, ActivationFunction.Softmax));
model.Compile(optimizer, new SparseCategoricalCrossEntropy(), seed);
if (clipNorm > 0)
    optimizer.GlobalClipNorm = clipNorm;
Console.WriteLine(model.Summary());
Console.WriteLine($"Optimizer: {optimizer.GetType().Name} (lr {optimizer.CurrentLearningRate}), batch {batchSize} lanes x {length} steps (truncated BPTT), " +
                  $"{epochs} epochs, gradients clipped to global norm {clipNorm}");

double trainSeconds = 0;
for (int epoch = 1; epoch <= epochs; epoch++)
{
    lstm.ResetStates(); // every lane restarts at its beginning
    EpochMetrics m = model.Fit(train, batchSize, epochs: 1, shuffle: false, verbose: 0, seed: seed).Last;
    lstm.ResetStates();
    Evaluation v = model.Evaluate(validation, batchSize); // same lane layout: the state carries through validation too
    trainSeconds += m.Seconds;
    Console.WriteLine($"Epoch {epoch}/{epochs}: loss {m.Loss:F4}, accuracy {m.Accuracy:P1}; validation loss {v.Loss:F4} " +
                      $"(unigram {unigram:F3}), accuracy {v.Accuracy:P1}; {m.Seconds:F1} s, {train.Labels.Length / m.Seconds:N0} chars/s");
}
if (epochs > 0)
    Console.WriteLine($"Training: {trainSeconds / epochs:F1} s per epoch");
if (savePath is not null)
{
    model.Save(savePath);
    Console.WriteLine($"Saved the trained model (architecture and weights) to {savePath}");
}

// Sampling: the same weights in a model that reads one character at a time, its state carried along.
var samplerLstm = new Lstm(units, returnSequences: true, stateful: true);
var sampler = new Sequential([1], new Embedding(vocabulary, embedding), samplerLstm, new Dense(vocabulary, ActivationFunction.Softmax));
sampler.Compile(new Sgd(), new SparseCategoricalCrossEntropy());
for (int p = 0; p < model.Parameters.Count; p++)
    model.Parameters[p].Span.CopyTo(sampler.Parameters[p].Span);
var rng = new RandomStream((ulong)seed); // stream 0: NanoNet itself never draws from it
var text = new StringBuilder(start);
Tensor probabilities = Tensor.Zeros(1, 1, vocabulary);
foreach (char c in start)
    probabilities = sampler.Predict(Tensor.FromArray([corpus.IdOf(c)], 1, 1));
for (int k = 0; k < sampleLength; k++)
{
    int id = SampleAtTemperature(probabilities.Span, temperature, rng);
    text.Append(corpus.Characters[id]);
    probabilities = sampler.Predict(Tensor.FromArray([id], 1, 1));
}
Console.WriteLine($"--- sample at temperature {temperature} ---");
Console.WriteLine(text.ToString());
Console.WriteLine("---");
return 0;

// p_i ∝ p_i^(1/T): T < 1 sharpens the distribution, T > 1 flattens it.
static int SampleAtTemperature(ReadOnlySpan<float> probabilities, float temperature, RandomStream rng)
{
    var weights = new double[probabilities.Length];
    double total = 0;
    for (int i = 0; i < weights.Length; i++)
        total += weights[i] = Math.Pow(Math.Max(probabilities[i], 1e-30), 1.0 / temperature);
    double u = rng.NextFloat() * total;
    for (int i = 0; i < weights.Length; i++)
        if ((u -= weights[i]) <= 0)
            return i;
    return weights.Length - 1;
}

// Cross-entropy (nats per character) of the validation text under the training text's character
// frequencies (add-one smoothed): what a model that ignores context can reach.
static double UnigramCrossEntropy(int[] train, int[] validation, int vocabulary)
{
    var counts = new double[vocabulary];
    foreach (int id in train)
        counts[id]++;
    double total = train.Length + vocabulary;
    double sum = 0;
    foreach (int id in validation)
        sum -= Math.Log((counts[id] + 1) / total);
    return sum / Math.Max(1, validation.Length);
}
