using System.Globalization;
using OxyPlot;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;

namespace NanoNet.Examples.MiniBatch;

/// <summary>SVG line charts drawn with OxyPlot.Core's <see cref="SvgExporter"/>.</summary>
internal static class Charts
{
    private const double Width = 900, Height = 520;
    /// <summary>Tableau's ten colours: distinct from each other, readable on white.</summary>
    private static readonly OxyColor[] Palette =
    [
        OxyColor.Parse("#1f77b4"), OxyColor.Parse("#ff7f0e"), OxyColor.Parse("#2ca02c"), OxyColor.Parse("#d62728"),
        OxyColor.Parse("#9467bd"), OxyColor.Parse("#8c564b"), OxyColor.Parse("#e377c2"), OxyColor.Parse("#7f7f7f"),
        OxyColor.Parse("#bcbd22"), OxyColor.Parse("#17becf"),
    ];

    private const double LossCeiling = 2.5; // the initial loss is ln 10 ≈ 2.30; a diverging run's larger values are cut off

    /// <summary>
    /// Per group: loss vs examples seen, loss vs wall time, validation accuracy per epoch; for the batch-size
    /// group also the raw one-step loss, which shows the gradient noise.
    /// </summary>
    /// <returns>The files written.</returns>
    public static IReadOnlyList<string> WriteAll(string directory, IReadOnlyList<RunGroup> groups, IReadOnlyDictionary<RunSpec, RunResult> results)
    {
        var files = new List<string>();
        foreach (RunGroup group in groups)
        {
            var runs = group.Runs.Select(r => (Label: Legend(r.Label, results[r.Spec]), Result: results[r.Spec])).ToList();
            files.Add(Save(directory, $"{group.Id}-loss-vs-examples.svg",
                LossChart($"{group.Title}: training loss vs examples seen", "examples seen (thousands)", runs, p => p.Examples / 1000, p => p.MeanLoss)));
            files.Add(Save(directory, $"{group.Id}-loss-vs-time.svg",
                LossChart($"{group.Title}: training loss vs wall time", "training wall time (s)", runs, p => p.Seconds, p => p.MeanLoss)));
            files.Add(Save(directory, $"{group.Id}-val-accuracy.svg", AccuracyChart($"{group.Title}: validation accuracy per epoch", runs)));
            if (group.Id == "batch-size")
            {
                // Noisiest first, so the smoother curves stay visible on top.
                var noisyFirst = Enumerable.Reverse(runs).ToList();
                files.Add(Save(directory, $"{group.Id}-step-loss.svg",
                    LossChart($"{group.Title}: loss of single steps (one raw sample per window)", "examples seen (thousands)", noisyFirst,
                        p => p.Examples / 1000, p => p.LastStepLoss, ceiling: 4)));
            }
        }
        return files;
    }

    private static string Legend(string label, RunResult result) =>
        result.NonFiniteAtStep is long step ? string.Create(CultureInfo.InvariantCulture, $"{label} (diverged: NaN at step {step:N0})")
        : result.Diverged ? $"{label} (diverged)" : label;

    private static PlotModel LossChart(string title, string xTitle, IReadOnlyList<(string Label, RunResult Result)> runs,
        Func<LossPoint, double> x, Func<LossPoint, float> y, double ceiling = LossCeiling)
    {
        PlotModel model = NewModel(title, xTitle, "training loss (mean per window)", 0, ceiling);
        foreach ((string label, RunResult result) in runs)
        {
            var series = new LineSeries { Title = label, StrokeThickness = 1.5 };
            foreach (LossPoint p in result.Points)
                series.Points.Add(new DataPoint(x(p), float.IsFinite(y(p)) ? y(p) : double.NaN));
            if (result.Points.Count <= 12) // batch gradient descent: few steps, mark them
            {
                series.MarkerType = MarkerType.Circle;
                series.MarkerSize = 3;
            }
            model.Series.Add(series);
        }
        return model;
    }

    private static PlotModel AccuracyChart(string title, IReadOnlyList<(string Label, RunResult Result)> runs)
    {
        PlotModel model = NewModel(title, "examples seen (thousands)", "validation accuracy", 0, 1);
        foreach ((string label, RunResult result) in runs)
        {
            var series = new LineSeries { Title = label, StrokeThickness = 1.5, MarkerType = MarkerType.Circle, MarkerSize = 3 };
            foreach (EpochPoint e in result.Epochs)
                if (e.ValidationAccuracy is float a)
                    series.Points.Add(new DataPoint(e.Examples / 1000.0, a));
            model.Series.Add(series);
        }
        model.Legends[0].LegendPosition = LegendPosition.RightBottom;
        return model;
    }

    private static PlotModel NewModel(string title, string xTitle, string yTitle, double yMin, double yMax)
    {
        var model = new PlotModel
        {
            Title = title,
            TitleFontSize = 15,
            DefaultFont = "Arial, Helvetica, sans-serif",
            Background = OxyColors.White,
        };
        model.DefaultColors = [.. Palette];
        model.Axes.Add(new LinearAxis
        {
            Position = AxisPosition.Bottom, Title = xTitle, Minimum = 0,
            MajorGridlineStyle = LineStyle.Dot, MajorGridlineColor = OxyColor.FromRgb(220, 220, 220),
        });
        model.Axes.Add(new LinearAxis
        {
            Position = AxisPosition.Left, Title = yTitle, Minimum = yMin, Maximum = yMax, AxisTitleDistance = 8,
            MajorGridlineStyle = LineStyle.Dot, MajorGridlineColor = OxyColor.FromRgb(220, 220, 220),
        });
        model.Legends.Add(new Legend
        {
            LegendPosition = LegendPosition.RightTop, LegendPlacement = LegendPlacement.Inside,
            LegendBackground = OxyColor.FromAColor(220, OxyColors.White), LegendBorder = OxyColors.LightGray,
        });
        return model;
    }

    private static string Save(string directory, string name, PlotModel model)
    {
        string path = Path.Combine(directory, name);
        using (FileStream stream = File.Create(path))
            new SvgExporter { Width = Width, Height = Height, UseVerticalTextAlignmentWorkaround = true, TextMeasurer = new PixelTextMeasurer() }.Export(model, stream);
        return path;
    }
}

/// <summary>
/// Text measurement for <see cref="SvgExporter"/>: OxyPlot's PDF context measures with Helvetica's metrics
/// (close to Arial) but in points, i.e. ¾ of the SVG's pixel sizes, which made legends and axis titles too
/// tight; this scales its answer back to pixels.
/// </summary>
internal sealed class PixelTextMeasurer() : PdfRenderContext(1, 1, OxyColors.Transparent)
{
    /// <inheritdoc/>
    public override OxySize MeasureText(string text, string fontFamily, double fontSize, double fontWeight)
    {
        OxySize points = base.MeasureText(text, fontFamily, fontSize, fontWeight);
        return new OxySize(points.Width * 4 / 3, points.Height * 4 / 3);
    }
}
