namespace NanoNet.Persistence;

/// <summary>The contents of a safetensors file: its metadata and its tensors, in the order of their data.</summary>
public sealed class SafeTensorsFile
{
    private readonly Dictionary<string, SafeTensor> _byName;

    internal SafeTensorsFile(string fileName, IReadOnlyDictionary<string, string> metadata, IReadOnlyList<SafeTensor> tensors)
    {
        FileName = fileName;
        Metadata = metadata;
        Tensors = tensors;
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>The file's name as given to the reader (used in error messages).</summary>
    public string FileName { get; }

    /// <summary>The <c>__metadata__</c> entries (empty when the file has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensors, in the order of their data in the file.</summary>
    public IReadOnlyList<SafeTensor> Tensors { get; }

    /// <summary>The tensor named <paramref name="name"/>, or null.</summary>
    public SafeTensor? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>Total number of elements over all tensors.</summary>
    public long ElementCount => Tensors.Sum(t => (long)Shapes.Product(t.Shape));
}
