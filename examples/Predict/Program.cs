// Classifies inputs with a model saved by an example's --save PATH (model.Save), in the data sets' own formats:
//
//   dotnet run -c Release --project examples/Predict -- MODEL INPUT... [--records A..B] [--vocab FILE]
//       [--lines FILE|-] [--quiet] [--dump-npy PREFIX]
//
// An image model (input 32x32x3: Cifar10, ResNet) takes CIFAR-10 batch files (test_batch.bin), the official
// cifar-10-binary.tar.gz (its test split) or its extracted folder; --records A..B picks records A to B
// (0-based, inclusive). Each record's line shows the predicted class (names from batches.meta.txt), its
// probability and whether it is right; the accuracy follows. If the model was trained with --standardize,
// PATH.standardizer.txt next to it applies the same standardization.
//
// A text model (TextLstm) takes text files, folders of *.txt files (a file under a folder named like a
// class, e.g. aclImdb/test/pos, counts towards the accuracy), or --lines FILE (each line one text; '-'
// reads stdin). Texts go through the vocabulary saved next to the model (PATH.vocab.txt, or --vocab FILE),
// the same tokenizer, and the same front padding and truncation to the model's length as in training.
//
// --dump-npy PREFIX writes the model's inputs and output probabilities as PREFIX.inputs.npy and
// PREFIX.probabilities.npy (for tools/pytorch/load_nanonet.py). --quiet prints only the accuracy.
using NanoNet.Examples.Predict;

string? modelPath = null, vocabularyPath = null, linesPath = null, dumpPrefix = null;
int first = 0;
int? count = null;
bool quiet = false;
var inputs = new List<string>();
var commandLine = new CommandLine(args);
try
{
    while (commandLine.Next(out string option))
    {
        switch (option)
        {
            case "--records": (first, count) = ParseRange(commandLine.Text()); break;
            case "--vocab": vocabularyPath = commandLine.Text(); break;
            case "--lines": linesPath = commandLine.Text(); break;
            case "--dump-npy": dumpPrefix = commandLine.Text(); break;
            case "--quiet": quiet = true; break;
            default:
                if (option.StartsWith("--", StringComparison.Ordinal))
                {
                    Console.Error.WriteLine($"Unknown option {option}. Usage: Predict MODEL INPUT... [--records A..B] [--vocab FILE] [--lines FILE|-] [--quiet] [--dump-npy PREFIX]");
                    return 2;
                }
                if (modelPath is null)
                    modelPath = option;
                else
                    inputs.Add(option);
                break;
        }
    }
    if (modelPath is null || (inputs.Count == 0 && linesPath is null))
        throw new ArgumentException("Usage: Predict MODEL INPUT... [--records A..B] [--vocab FILE] [--lines FILE|-] [--quiet] [--dump-npy PREFIX]");
}
catch (ArgumentException e) // a missing or malformed value
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

try
{
    Predictor predictor = Predictor.Load(modelPath, vocabularyPath);
    var results = new List<Predictions>();
    if (predictor.Kind == InputKind.Images)
    {
        if (linesPath is not null)
            throw new InvalidDataException($"{linesPath}: the model {modelPath} expects 32x32x3 images (CIFAR-10 batch files), not lines of text.");
        results.AddRange(inputs.Select(input => predictor.ClassifyCifar10(input, first, count)));
    }
    else
    {
        if (inputs.Count > 0)
            results.Add(predictor.ClassifyTextFiles(inputs));
        if (linesPath == "-")
            results.Add(predictor.ClassifyLines(Console.In, "stdin"));
        else if (linesPath is not null)
        {
            if (!File.Exists(linesPath))
                throw new FileNotFoundException($"Text file not found: {linesPath}", linesPath);
            using var reader = new StreamReader(linesPath);
            results.Add(predictor.ClassifyLines(reader, linesPath));
        }
    }
    foreach (Predictions result in results)
    {
        if (quiet)
        {
            if (result.Accuracy is double accuracy)
                Console.WriteLine($"Accuracy: {accuracy:P2} ({result.Labelled} labelled inputs)");
        }
        else
            result.WriteTo(Console.Out);
    }
    if (dumpPrefix is not null && results.Count > 0)
    {
        NpyFile.Write(dumpPrefix + ".inputs.npy", results[0].Inputs);
        NpyFile.Write(dumpPrefix + ".probabilities.npy", results[0].Probabilities);
        Console.WriteLine($"Wrote {dumpPrefix}.inputs.npy and {dumpPrefix}.probabilities.npy");
    }
    return 0;
}
catch (Exception e) when (e is FileNotFoundException or InvalidDataException or DirectoryNotFoundException)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}

static (int First, int? Count) ParseRange(string text)
{
    string[] parts = text.Split("..");
    if (parts.Length is 1 or 2 && int.TryParse(parts[0], out int a) && a >= 0)
    {
        if (parts.Length == 1)
            return (a, 1);
        if (int.TryParse(parts[1], out int b) && b >= a)
            return (a, b - a + 1);
    }
    throw new ArgumentException($"--records needs A or A..B (0-based, inclusive, A <= B), got '{text}'.");
}
