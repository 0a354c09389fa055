using System.Globalization;
using OxyPlot;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;

namespace NanoNet.Examples.MiniBatch;

/// <summary>SVG line charts drawn with OxyPlot.Core's <see cref="SvgExporter"/>.</summary>
internal static class Charts
{
    private const double Width = 960, Height = 500;
    private const double LossCeiling = 2.5; // the initial loss is about ln 10 ≈ 2.3; a diverging run's larger values are cut off

    /// <summary>Tableau's ten colours: distinct from each other, readable on white. A run keeps its colour in every chart of its group.</summary>
    private static readonly OxyColor[] Palette =
    [
        OxyColor.Parse("#1f77b4"), OxyColor.Parse("#ff7f0e"), OxyColor.Parse("#2ca02c"), OxyColor.Parse("#d62728"),
        OxyColor.Parse("#9467bd"), OxyColor.Parse("#8c564b"), OxyColor.Parse("#e377c2"), OxyColor.Parse("#7f7f7f"),
        OxyColor.Parse("#bcbd22"), OxyColor.Parse("#17becf"),
    ];

    /// <summary>One run as drawn: its legend text, colour and data.</summary>
    private readonly record struct Curve(string Label, OxyColor Color, RunResult Result);

    /// <summary>
    /// Per group: loss vs examples seen and loss vs wall time (both on a logarithmic x axis, so the first
    /// thousand examples get as much room as the last hundred thousand), validation accuracy per epoch; for
    /// the batch-size group also the raw one-step loss, which shows the gradient noise.
    /// </summary>
    /// <returns>The files written.</returns>
    public static IReadOnlyList<string> WriteAll(string directory, IReadOnlyList<RunGroup> groups, IReadOnlyDictionary<RunSpec, RunResult> results)
    {
        var files = new List<string>();
        foreach (RunGroup group in groups)
        {
            List<Curve> curves = group.Runs
                .Select((r, i) => new Curve(Legend(r.Label, results[r.Spec]), Palette[i % Palette.Length], results[r.Spec]))
                .ToList();
            files.Add(Save(directory, $"{group.Id}-loss-vs-examples.svg",
                LossChart($"{group.Title}: training loss vs examples seen", "examples seen (log scale)", logX: true,
                    "training loss (mean per window)", curves, p => p.Examples, p => p.MeanLoss)));
            files.Add(Save(directory, $"{group.Id}-loss-vs-time.svg",
                LossChart($"{group.Title}: training loss vs wall time", "training wall time in seconds (log scale)", logX: true,
                    "training loss (mean per window)", curves, p => p.Seconds, p => p.MeanLoss)));
            files.Add(Save(directory, $"{group.Id}-val-accuracy.svg", AccuracyChart($"{group.Title}: validation accuracy per epoch", curves)));
            if (group.Id == "batch-size")
            {
                // Noisiest (smallest batch) drawn first, so the smoother curves stay visible on top.
                files.Add(Save(directory, $"{group.Id}-step-loss.svg",
                    LossChart($"{group.Title}: loss of single steps", "examples seen (thousands)", logX: false,
                        "loss of one batch (one step per window)", Enumerable.Reverse(curves).ToList(), p => p.Examples / 1000, p => p.LastStepLoss, ceiling: 4)));
            }
        }
        return files;
    }

    private static string Legend(string label, RunResult result) =>
        result.NonFiniteAtStep is long step ? string.Create(CultureInfo.InvariantCulture, $"{label} (diverged: NaN at step {step:N0})")
        : result.Diverged ? $"{label} (diverged)" : label;

    private static PlotModel LossChart(string title, string xTitle, bool logX, string yTitle, IReadOnlyList<Curve> curves,
        Func<LossPoint, double> x, Func<LossPoint, float> y, double ceiling = LossCeiling)
    {
        PlotModel model = NewModel(title, xTitle, logX, yTitle, 0, ceiling);
        foreach (Curve curve in curves)
        {
            var series = new LineSeries { Title = curve.Label, Color = curve.Color, StrokeThickness = 1.5 };
            foreach (LossPoint p in curve.Result.Points)
                if (!logX || x(p) > 0)
                    series.Points.Add(new DataPoint(x(p), float.IsFinite(y(p)) ? y(p) : double.NaN));
            if (curve.Result.Points.Count <= 12) // batch gradient descent: few steps, mark them
            {
                series.MarkerType = MarkerType.Circle;
                series.MarkerSize = 3;
            }
            model.Series.Add(series);
        }
        return model;
    }

    private static PlotModel AccuracyChart(string title, IReadOnlyList<Curve> curves)
    {
        // Zoom on the trained epochs: from the lowest accuracy after epoch 1 (rounded down to 10%, less a margin) to the highest (rounded up to 5%).
        float[] trained = curves.SelectMany(c => c.Result.Epochs).Where(e => e.Epoch > 0 && e.ValidationAccuracy is not null)
            .Select(e => e.ValidationAccuracy!.Value).ToArray();
        double low = trained.Length > 0 ? Math.Max(0, Math.Floor(trained.Min() * 10) / 10 - 0.02) : 0;
        double high = trained.Length > 0 ? Math.Min(1, Math.Ceiling(trained.Max() * 20) / 20 + 0.02) : 1;
        PlotModel model = NewModel(title, "examples seen (thousands)", logX: false, "validation accuracy", low, high);
        foreach (Curve curve in curves)
        {
            var series = new LineSeries { Title = curve.Label, Color = curve.Color, StrokeThickness = 1.5, MarkerType = MarkerType.Circle, MarkerSize = 3 };
            foreach (EpochPoint e in curve.Result.Epochs)
                if (e.ValidationAccuracy is float a)
                    series.Points.Add(new DataPoint(e.Examples / 1000.0, a));
            model.Series.Add(series);
        }
        return model;
    }

    private static PlotModel NewModel(string title, string xTitle, bool logX, string yTitle, double yMin, double yMax)
    {
        var model = new PlotModel
        {
            Title = title,
            TitleFontSize = 15,
            DefaultFont = "Arial, Helvetica, sans-serif",
            Background = OxyColors.White,
        };
        OxyColor grid = OxyColor.FromRgb(220, 220, 220);
        Axis xAxis = logX
            ? new LogarithmicAxis { MinorGridlineStyle = LineStyle.Dot, MinorGridlineColor = OxyColor.FromRgb(238, 238, 238) }
            : new LinearAxis { Minimum = 0 };
        xAxis.Position = AxisPosition.Bottom;
        xAxis.Title = xTitle;
        xAxis.MajorGridlineStyle = LineStyle.Dot;
        xAxis.MajorGridlineColor = grid;
        model.Axes.Add(xAxis);
        model.Axes.Add(new LinearAxis
        {
            Position = AxisPosition.Left, Title = yTitle, Minimum = yMin, Maximum = yMax, AxisTitleDistance = 8,
            MajorGridlineStyle = LineStyle.Dot, MajorGridlineColor = grid,
        });
        model.Legends.Add(new Legend
        {
            LegendPlacement = LegendPlacement.Outside, LegendPosition = LegendPosition.RightTop,
            LegendBorder = OxyColors.LightGray, LegendFontSize = 12,
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
