using System.Globalization;

namespace NanoNet.Examples.Predict;

/// <summary>One classified input: where it came from, the predicted class, its probability, and the true label when known.</summary>
/// <param name="Source">The input's name: "test_batch.bin #17", a file name, or "line 3".</param>
/// <param name="PredictedClass">The class with the highest probability.</param>
/// <param name="Probability">That probability.</param>
/// <param name="Label">The true class, when the input carries one (CIFAR-10 records; text files in a folder named like a class).</param>
public sealed record Prediction(string Source, int PredictedClass, float Probability, int? Label);

/// <summary>The predictions for a set of inputs, the model's inputs and outputs, and the accuracy when labels are known.</summary>
public sealed class Predictions
{
    internal Predictions(IReadOnlyList<Prediction> items, IReadOnlyList<string> classNames, Tensor inputs, Tensor probabilities)
    {
        Items = items;
        ClassNames = classNames;
        Inputs = inputs;
        Probabilities = probabilities;
    }

    /// <summary>One prediction per input, in input order.</summary>
    public IReadOnlyList<Prediction> Items { get; }

    /// <summary>The class names, by class id.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>What the model was given: (N, 32, 32, 3) images or (N, T) token ids.</summary>
    public Tensor Inputs { get; }

    /// <summary>The model's output: (N, classes) probabilities.</summary>
    public Tensor Probabilities { get; }

    /// <summary>How many inputs carry a label.</summary>
    public int Labelled => Items.Count(p => p.Label is not null);

    /// <summary>The fraction of labelled inputs predicted right, or null when none carries a label.</summary>
    public double? Accuracy => Labelled == 0 ? null : (double)Items.Count(p => p.Label == p.PredictedClass) / Labelled;

    /// <summary>Writes one line per input ("source  class  probability  [label]"), then the accuracy when known.</summary>
    public void WriteTo(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        foreach (Prediction p in Items)
        {
            string line = string.Create(CultureInfo.InvariantCulture, $"{p.Source}\t{NameOf(p.PredictedClass)}\t{p.Probability:F4}");
            if (p.Label is int label)
                line += $"\t{(label == p.PredictedClass ? "right" : $"wrong (is {NameOf(label)})")}";
            output.WriteLine(line);
        }
        if (Accuracy is double accuracy)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Accuracy: {accuracy:P2} ({Items.Count(p => p.Label == p.PredictedClass)} of {Labelled} labelled inputs)"));
    }

    private string NameOf(int classId) => classId < ClassNames.Count ? ClassNames[classId] : $"class {classId}";
}
