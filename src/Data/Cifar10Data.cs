namespace NanoNet.Data;

/// <summary>
/// CIFAR-10 as loaded by <see cref="Cifar10.Load"/>: the two splits and the class names.
/// Deconstructs as <c>var (train, test) = Cifar10.Load(path);</c>.
/// </summary>
public sealed class Cifar10Data
{
    internal Cifar10Data(Dataset train, Dataset test, IReadOnlyList<string> classNames)
    {
        Train = train;
        Test = test;
        ClassNames = classNames;
    }

    /// <summary>Training images (N, 32, 32, 3) in [0, 1] and labels (N), from data_batch_1..5.bin in order.</summary>
    public Dataset Train { get; }

    /// <summary>Test images (N, 32, 32, 3) in [0, 1] and labels (N), from test_batch.bin.</summary>
    public Dataset Test { get; }

    /// <summary>The class names by label, from batches.meta.txt (or <see cref="Cifar10.ClassNames"/> when it is absent).</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Splits into the training and test sets.</summary>
    public void Deconstruct(out Dataset train, out Dataset test)
    {
        train = Train;
        test = Test;
    }
}
