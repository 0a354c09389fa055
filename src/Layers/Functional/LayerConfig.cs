using System.Globalization;

namespace NanoNet.Layers;

/// <summary>
/// A layer's type name and constructor arguments as plain values (numbers, strings, booleans, integer
/// lists): what an architecture file stores so <see cref="LayerRegistry"/> can build the layer again.
/// No reflection: each layer writes its own arguments in <see cref="Layer.GetConfig"/> and its factory
/// reads them back.
/// </summary>
public sealed class LayerConfig
{
    private readonly Dictionary<string, object> _values = [];
    private readonly List<string> _order = [];

    /// <summary>A config for a layer of type <paramref name="typeName"/> (its registry key, e.g. "Dense").</summary>
    public LayerConfig(string typeName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(typeName);
        TypeName = typeName;
    }

    /// <summary>The layer's registry key.</summary>
    public string TypeName { get; }

    /// <summary>The argument names, in the order they were set.</summary>
    public IReadOnlyList<string> Keys => _order;

    /// <summary>Sets an integer argument.</summary>
    public LayerConfig Set(string key, int value) => Put(key, value);

    /// <summary>Sets a floating-point argument.</summary>
    public LayerConfig Set(string key, float value) => Put(key, value);

    /// <summary>Sets a boolean argument.</summary>
    public LayerConfig Set(string key, bool value) => Put(key, value);

    /// <summary>Sets a string argument.</summary>
    public LayerConfig Set(string key, string value) => Put(key, value ?? throw new ArgumentNullException(nameof(value)));

    /// <summary>Sets an integer-list argument (e.g. a shape or a list of axes).</summary>
    public LayerConfig Set(string key, int[] value) => Put(key, (int[])(value ?? throw new ArgumentNullException(nameof(value))).Clone());

    /// <summary>The raw value of <paramref name="key"/> (int, float, bool, string or int[]).</summary>
    public object this[string key] => _values.TryGetValue(key, out object? value) ? value
        : throw new KeyNotFoundException($"{TypeName} config has no argument '{key}'; it has [{string.Join(", ", _order)}].");

    /// <summary>Whether <paramref name="key"/> is set.</summary>
    public bool Contains(string key) => _values.ContainsKey(key);

    /// <summary>An integer argument.</summary>
    public int GetInt(string key) => Get<int>(key);

    /// <summary>A floating-point argument (integers are accepted).</summary>
    public float GetFloat(string key) => this[key] is int i ? i : Get<float>(key);

    /// <summary>A boolean argument.</summary>
    public bool GetBool(string key) => Get<bool>(key);

    /// <summary>A string argument.</summary>
    public string GetString(string key) => Get<string>(key);

    /// <summary>An integer-list argument.</summary>
    public int[] GetInts(string key) => (int[])Get<int[]>(key).Clone();

    /// <summary>An argument, or <paramref name="fallback"/> when absent.</summary>
    public T GetOrDefault<T>(string key, T fallback) => Contains(key) ? Get<T>(key) : fallback;

    /// <summary>E.g. <c>Dense(name=dense, units=64, activation=relu)</c>.</summary>
    public override string ToString() =>
        $"{TypeName}({string.Join(", ", _order.Select(k => $"{k}={Format(_values[k])}"))})";

    private T Get<T>(string key) => this[key] is T value ? value
        : throw new InvalidCastException($"{TypeName} config argument '{key}' is {Format(this[key])} ({this[key].GetType().Name}), not a {typeof(T).Name}.");

    private LayerConfig Put(string key, object value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        if (!_values.ContainsKey(key))
            _order.Add(key);
        _values[key] = value;
        return this;
    }

    private static string Format(object value) => value switch
    {
        int[] list => "[" + string.Join(", ", list) + "]",
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };
}
