namespace NanoNet.Data;

/// <summary>
/// Finds a data set on disk: first in a path the user gave (an example's <c>--data</c> option), then in
/// the folder named by the <c>NANONET_DATA</c> environment variable.
/// </summary>
public static class DataLocator
{
    /// <summary>The environment variable that names the folder holding NanoNet's data sets.</summary>
    public const string EnvironmentVariable = "NANONET_DATA";

    /// <summary>
    /// Returns the first non-null answer of <paramref name="probe"/> for <paramref name="path"/> (when
    /// given) and then for <c>$NANONET_DATA</c> (when set). The probe receives an existing file or folder
    /// and returns what to load from it, or null when the data set is not there.
    /// </summary>
    /// <param name="datasetName">Name used in the error message, e.g. "CIFAR-10".</param>
    /// <param name="path">A file or folder the caller was given, or null.</param>
    /// <param name="probe">Recognises the data set in a file or folder; returns the path to load, or null.</param>
    /// <param name="expected">What the data set looks like on disk, for the error message.</param>
    /// <param name="downloadUrl">Where the official files are, for the error message.</param>
    /// <exception cref="FileNotFoundException">Not found; the message says where it looked, where to download, and how to point NanoNet at it.</exception>
    public static string Locate(string datasetName, string? path, Func<string, string?> probe, string expected, string downloadUrl)
    {
        ArgumentNullException.ThrowIfNull(probe);
        var looked = new List<string>();
        if (!string.IsNullOrEmpty(path))
        {
            if (TryProbe(path, probe) is string found)
                return found;
            looked.Add($"'{Path.GetFullPath(path)}' (the given path{(Exists(path) ? "" : ", which does not exist")})");
        }
        string? environment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrEmpty(environment))
        {
            if (TryProbe(environment, probe) is string found)
                return found;
            looked.Add($"'{Path.GetFullPath(environment)}' (${EnvironmentVariable}{(Exists(environment) ? "" : ", which does not exist")})");
        }
        else
        {
            looked.Add($"${EnvironmentVariable} (not set)");
        }
        throw NotFound(datasetName, looked, expected, downloadUrl);
    }

    /// <summary>Like <see cref="Locate"/> but only in <paramref name="path"/> (no environment fallback).</summary>
    internal static string LocateIn(string datasetName, string path, Func<string, string?> probe, string expected, string downloadUrl)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return TryProbe(path, probe) ?? throw NotFound(datasetName,
            [$"'{Path.GetFullPath(path)}'{(Exists(path) ? "" : " (which does not exist)")}"], expected, downloadUrl);
    }

    private static string? TryProbe(string path, Func<string, string?> probe) => Exists(path) ? probe(path) : null;

    private static bool Exists(string path) => File.Exists(path) || Directory.Exists(path);

    private static FileNotFoundException NotFound(string datasetName, List<string> looked, string expected, string downloadUrl) =>
        new($"{datasetName} not found. Looked in: {string.Join("; ", looked)}. Expected {expected}. " +
            $"Download {downloadUrl} and pass the file or its folder with the --data option, " +
            $"or set {EnvironmentVariable} to the folder that holds it.");

    /// <summary>
    /// A probe for data sets that come as one file: the file itself, or a folder that holds a file of
    /// one of the given names (tried in order).
    /// </summary>
    internal static string? FileOrFolderContaining(string path, params string[] fileNames)
    {
        if (File.Exists(path))
            return path;
        foreach (string name in fileNames)
        {
            string candidate = Path.Combine(path, name);
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }
}
