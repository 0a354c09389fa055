using System.Globalization;

/// <summary>
/// The examples' option reader: "--name value" pairs and "--flag" switches, read in order, with errors
/// that name the option and the value that did not parse.
/// </summary>
/// <remarks>Linked into each example project (see its .csproj), so the examples stay single-file programs.</remarks>
internal sealed class CommandLine(string[] args)
{
    private int _next;
    private string _option = "";

    /// <summary>Moves to the next option; false when there are none left.</summary>
    public bool Next(out string option)
    {
        option = _option = _next < args.Length ? args[_next++] : "";
        return option.Length > 0;
    }

    /// <summary>The current option's value as text.</summary>
    public string Text() => _next < args.Length ? args[_next++] : throw new ArgumentException($"{_option} needs a value.");

    /// <summary>The current option's value as an integer.</summary>
    public int Int() => int.TryParse(Text(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int value)
        ? value : throw new ArgumentException($"{_option} needs an integer, got '{args[_next - 1]}'.");

    /// <summary>The current option's value as a number.</summary>
    public float Float() => float.TryParse(Text(), NumberStyles.Float, CultureInfo.InvariantCulture, out float value)
        ? value : throw new ArgumentException($"{_option} needs a number, got '{args[_next - 1]}'.");
}
