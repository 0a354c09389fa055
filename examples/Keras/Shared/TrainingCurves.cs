using System.Globalization;
using NanoNet.Layers;
using OxyPlot;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;

/// <summary>
/// The Keras examples' training curves: loss and accuracy per epoch, training against validation, as two
/// SVG charts drawn with OxyPlot.Core (the examples' dependency; the libraries under src/ have none), plus
/// the same figures as a CSV table.
/// </summary>
internal static class TrainingCurves
{
    private static readonly OxyColor TrainingColor = OxyColor.Parse("#1f77b4"), ValidationColor = OxyColor.Parse("#ff7f0e");

    /// <summary>Writes <c>NAME-loss.svg</c>, <c>NAME-accuracy.svg</c> and <c>NAME-history.csv</c> into <paramref name="directory"/>.</summary>
    /// <returns>The files written.</returns>
    public static IReadOnlyList<string> Write(string directory, string name, string title, TrainingHistory history)
    {
        Directory.CreateDirectory(directory);
        IReadOnlyList<EpochMetrics> epochs = history.Epochs;
        var files = new List<string>
        {
            Save(directory, $"{name}-loss.svg", Chart($"{title}: loss per epoch", "loss", epochs, e => e.Loss, e => e.ValidationLoss)),
            Save(directory, $"{name}-accuracy.svg", Chart($"{title}: accuracy per epoch", "accuracy", epochs, e => e.Accuracy, e => e.ValidationAccuracy)),
        };
        string csv = Path.Combine(directory, $"{name}-history.csv");
        using (var writer = new StreamWriter(csv))
        {
            writer.WriteLine("epoch,loss,accuracy,val_loss,val_accuracy,seconds");
            foreach (EpochMetrics e in epochs)
                writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{e.Epoch},{e.Loss:R},{e.Accuracy:R},{e.ValidationLoss:R},{e.ValidationAccuracy:R},{e.Seconds:F1}"));
        }
        files.Add(csv);
        return files;
    }

    private static PlotModel Chart(string title, string yTitle, IReadOnlyList<EpochMetrics> epochs,
        Func<EpochMetrics, float?> training, Func<EpochMetrics, float?> validation)
    {
        var model = new PlotModel { Title = title, TitleFontSize = 15, DefaultFont = "Arial, Helvetica, sans-serif", Background = OxyColors.White };
        OxyColor grid = OxyColor.FromRgb(220, 220, 220);
        model.Axes.Add(new LinearAxis
        {
            Position = AxisPosition.Bottom, Title = "epoch", Minimum = 0, MajorStep = Math.Max(1, epochs.Count / 10),
            MajorGridlineStyle = LineStyle.Dot, MajorGridlineColor = grid,
        });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Left, Title = yTitle, MajorGridlineStyle = LineStyle.Dot, MajorGridlineColor = grid });
        model.Legends.Add(new Legend { LegendPosition = LegendPosition.RightMiddle, LegendPlacement = LegendPlacement.Inside });
        model.Series.Add(Series("training", TrainingColor, epochs, training));
        model.Series.Add(Series("validation", ValidationColor, epochs, validation));
        return model;
    }

    private static LineSeries Series(string title, OxyColor color, IReadOnlyList<EpochMetrics> epochs, Func<EpochMetrics, float?> value)
    {
        var series = new LineSeries { Title = title, Color = color, StrokeThickness = 1.5, MarkerType = MarkerType.Circle, MarkerSize = 3 };
        foreach (EpochMetrics e in epochs)
            if (value(e) is float v && float.IsFinite(v))
                series.Points.Add(new DataPoint(e.Epoch, v));
        return series;
    }

    private static string Save(string directory, string fileName, PlotModel model)
    {
        string path = Path.Combine(directory, fileName);
        using FileStream stream = File.Create(path);
        new SvgExporter { Width = 800, Height = 450 }.Export(model, stream);
        return path;
    }
}
