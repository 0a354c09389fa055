using System.Text.RegularExpressions;
using NanoNet.Docs.Samples;
using NanoNet.Optim;

namespace NanoNet.Tests.Docs;

/// <summary>
/// The code in docs/*.md compiles: every ```csharp block is preceded by a marker
/// <c>&lt;!-- sample: docs/Samples/File.cs#name --&gt;</c> and must equal (whitespace-normalised) the
/// <c>#region name</c> of that file in docs/Samples, a project of the solution, so the build compiles it.
/// The second fixture runs the samples and checks they do what the pages say.
/// </summary>
public partial class DocSamplesTests
{
    [GeneratedRegex(@"^<!-- sample: (?<file>[^#\s]+)#(?<region>[\w-]+) -->\s*$")]
    private static partial Regex Marker();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    private static readonly string Root = FindRoot();

    /// <summary>Every page of docs/, by its path from the repository root.</summary>
    public static IEnumerable<string> Pages() =>
        Directory.GetFiles(Path.Combine(Root, "docs"), "*.md").Order(StringComparer.Ordinal)
            .Select(p => Path.GetRelativePath(Root, p).Replace('\\', '/'));

    [TestCaseSource(nameof(Pages))]
    public void Code_blocks_equal_their_compiled_regions(string page)
    {
        string[] lines = File.ReadAllLines(Path.Combine(Root, page));
        var failures = new List<string>();
        string? pendingMarker = null;
        for (int i = 0; i < lines.Length; i++)
        {
            Match marker = Marker().Match(lines[i]);
            if (marker.Success)
            {
                pendingMarker = $"{marker.Groups["file"].Value}#{marker.Groups["region"].Value}";
                int open = i + 1;
                while (open < lines.Length && lines[open].Trim().Length == 0)
                    open++;
                if (open >= lines.Length || lines[open].Trim() != "```csharp")
                {
                    failures.Add($"{page}:{i + 1}: marker {pendingMarker} is not followed by a ```csharp block");
                    pendingMarker = null;
                }
                continue;
            }
            if (lines[i].Trim() != "```csharp")
                continue;
            int close = Array.FindIndex(lines, i + 1, l => l.Trim() == "```");
            if (close < 0)
            {
                failures.Add($"{page}:{i + 1}: the ```csharp block is never closed");
                break;
            }
            string block = string.Join('\n', lines[(i + 1)..close]);
            if (pendingMarker is null)
                failures.Add($"{page}:{i + 1}: a ```csharp block without a '<!-- sample: docs/Samples/File.cs#region -->' marker (its code is not compiled)");
            else if (Check(pendingMarker, block) is { } problem)
                failures.Add($"{page}:{i + 1}: region {pendingMarker}: {problem}");
            pendingMarker = null;
            i = close;
        }
        Assert.That(failures, Is.Empty, string.Join(Environment.NewLine, failures));
    }

    [Test]
    public void Every_sample_page_is_checked_and_custom_ops_is_one_of_them()
    {
        string[] pages = [.. Pages()];
        Assert.That(pages, Does.Contain("docs/custom-ops.md"));
        int markers = pages.Sum(p => File.ReadLines(Path.Combine(Root, p)).Count(l => Marker().IsMatch(l)));
        Assert.That(markers, Is.GreaterThanOrEqualTo(10), "the pages show at least ten compiled samples");
    }

    /// <summary>Null when the block equals the region; otherwise what is wrong.</summary>
    private static string? Check(string marker, string block)
    {
        string file = marker[..marker.IndexOf('#')], region = marker[(marker.IndexOf('#') + 1)..];
        string path = Path.Combine(Root, file);
        if (!File.Exists(path))
            return $"the file {file} does not exist";
        string[] source = File.ReadAllLines(path);
        int start = Array.FindIndex(source, l => l.Trim() == "#region " + region);
        if (start < 0)
            return $"{file} has no '#region {region}'";
        int end = Array.FindIndex(source, start + 1, l => l.TrimStart().StartsWith("#endregion", StringComparison.Ordinal));
        if (end < 0)
            return $"'#region {region}' in {file} has no #endregion";
        string expected = Normalize(string.Join('\n', source[(start + 1)..end]));
        string actual = Normalize(block);
        if (expected == actual)
            return null;
        int at = 0;
        while (at < expected.Length && at < actual.Length && expected[at] == actual[at])
            at++;
        return $"the code block differs from the region from character {at}: page has \"{Excerpt(actual, at)}\", source has \"{Excerpt(expected, at)}\"";
    }

    private static string Normalize(string code) => Whitespace().Replace(code, " ").Trim();

    private static string Excerpt(string text, int at) => at >= text.Length ? "(end)" : text.Substring(at, Math.Min(60, text.Length - at));

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "NanoNet.sln")))
                return dir.FullName;
        throw new InvalidOperationException($"No NanoNet.sln above {AppContext.BaseDirectory}.");
    }
}

/// <summary>The samples shown in docs/ do what their pages say.</summary>
public class DocSamplesRunTests
{
    [Test]
    public void Custom_op_softplus_has_the_sigmoid_as_gradient()
    {
        Tensor x = Tensor.FromArray([-3f, 0f, 2f], 3).AsParameter("x");
        Tensor y = MyOps.Softplus(x);
        Assert.That(y[1], Is.EqualTo(MathF.Log(2f)).Within(1e-6f));
        Ops.Sum(y).Backward();
        for (int i = 0; i < 3; i++)
            Assert.That(x.Grad![i], Is.EqualTo(1f / (1f + MathF.Exp(-x[i]))).Within(1e-6f));
    }

    [TestCase(1)]
    [TestCase(32)]
    [TestCase(256)]
    public void Tiny_loop_learns_at_any_batch_size(int batchSize)
    {
        var data = TrainingStep.ThreeClasses(256);
        var (first, last) = TrainingStep.TinyLoop(data, batchSize, epochs: batchSize == 256 ? 40 : 5);
        Assert.That(last, Is.LessThan(first), $"batch size {batchSize}: the mean loss should fall");
        Assert.That(last, Is.LessThan(0.7f), $"batch size {batchSize}: well below log 3 = 1.10, the loss of guessing");
    }

    [Test]
    public void Gemm_sample_matches_the_reference_and_the_packed_call()
    {
        var (unpacked, packed) = GemmSamples.CompareWithReference();
        Assert.That(unpacked, Is.LessThan(1e-3f));
        Assert.That(packed, Is.EqualTo(0f), "a pre-packed B gives the same bits");
    }

    [Test]
    public void Convolution_by_hand_equals_the_kernel() =>
        Assert.That(ConvolutionSamples.LoweringByHand(), Is.LessThan(1e-5f));

    [Test]
    public void Lstm_sample_matches_the_reference()
    {
        var (output, recurrent) = LstmSamples.AgainstReference();
        Assert.That(output, Is.LessThan(1e-5f));
        Assert.That(recurrent, Is.LessThan(1e-4f));
    }

    [Test]
    public void Optimizer_samples_schedule_and_custom_rule()
    {
        var (optimizer, rates) = OptimizerSamples.Configure();
        Assert.That(rates[0], Is.EqualTo(0f));
        Assert.That(rates[1], Is.EqualTo(2e-4f).Within(1e-9f));
        Assert.That(rates[2], Is.EqualTo(1e-3f).Within(1e-9f));
        Assert.That(rates[3], Is.LessThan(1e-3f).And.GreaterThan(1e-5f));
        Assert.That(optimizer.CurrentLearningRate, Is.EqualTo(0f));

        Tensor w = Tensor.FromArray([1f, -2f, 3f], 3).AsParameter("w");
        w.Grad = Tensor.FromArray([0.5f, -4f, 0f], 3);
        new OptimizerSamples.SignSgd(learningRate: 0.25f).Step([w]);
        Assert.That(w.ToArray(), Is.EqualTo(new[] { 0.75f, -1.75f, 3f }));

        Assert.That(OptimizerSamples.LazyAdam().Optimizer, Is.InstanceOf<Adam>().With.Property(nameof(Optimizer.Lazy)).True);
    }

    [Test]
    public void Broadcast_sample_sums_gradients_over_stretched_rows()
    {
        var (gamma, beta) = BroadcastingSamples.Standardize();
        Assert.That(gamma.Shape.ToArray(), Is.EqualTo(new[] { 8 }));
        for (int j = 0; j < 8; j++)
        {
            Assert.That(gamma[j], Is.EqualTo(2f * 64).Within(0.1f), "Σ over 64 rows of 2·ŷ²");
            Assert.That(beta[j], Is.EqualTo(0f).Within(1e-3f), "Σ over 64 rows of 2·ŷ");
        }
    }

    [Test]
    public void Profiler_sample_reports_the_layers_and_the_optimizer()
    {
        bool was = NanoNet.Diagnostics.Profiler.Enabled;
        try
        {
            string report = MeasuringSamples.ProfileOneEpoch();
            Assert.That(report, Does.Contain("dense").And.Contain("optimizer").And.Contain("FMA peak"));
            Assert.That(MeasuringSamples.MedianMilliseconds(() => { }, steps: 5), Is.GreaterThanOrEqualTo(0));
        }
        finally
        {
            NanoNet.Diagnostics.Profiler.Enabled = was;
        }
    }
}
