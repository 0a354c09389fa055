using System.Globalization;
using System.Text;

namespace NanoNet.Layers;

public partial class Model
{
    /// <summary>
    /// A Keras-like table of layer calls, output shapes and parameter counts; for a graph (anything but a
    /// plain chain) a "Connected to" column names each call's inputs. Frozen weights count as non-trainable.
    /// </summary>
    public string Summary()
    {
        EnsureGraph();
        if (!_layers.All(l => l.IsBuilt))
            throw NotCompiled();
        bool graph = this is not Sequential;
        int width = graph ? 104 : 78;
        var sb = new StringBuilder();
        sb.AppendLine($"Model: \"{Name}\"");
        sb.AppendLine(new string('-', width));
        sb.Append($"{"Layer (type)",-34}{"Output Shape",-26}{"Param #",18}");
        sb.AppendLine(graph ? $"  {"Connected to",-24}" : "");
        sb.AppendLine(new string('=', width));
        if (graph)
            foreach (Input input in _inputs)
                sb.AppendLine($"{$"{input.Name} (InputLayer)",-34}{Shapes.FormatBatched(input.Shape),-26}{"0",18}  {"-",-24}");
        var counted = new HashSet<Layer>();
        foreach (GraphNode node in _nodes)
        {
            Layer layer = node.Layer;
            // A shared layer's weights are counted at its first call only, as Keras does.
            int parameters = counted.Add(layer) ? layer.ParameterCount + layer.NonTrainableParameterCount : 0;
            string kind = $"{layer.Name} ({layer.GetType().Name})";
            string shape = Shapes.FormatBatched(layer.OutputShape);
            sb.Append($"{kind,-34}{shape,-26}{parameters.ToString("N0", CultureInfo.InvariantCulture),18}");
            sb.AppendLine(graph ? $"  {node.ConnectedTo,-24}" : "");
            // A call with several outputs (return_state: output, h, c) lists the other outputs' shapes below the first.
            for (int i = 1; i < node.OutputSlots.Length; i++)
                sb.AppendLine($"{"",-34}{Shapes.FormatBatched(layer.OutputShapeAt(i))}");
        }
        sb.AppendLine(new string('=', width));
        int trainable = ParameterCount, frozen = NonTrainableParameterCount;
        sb.AppendLine($"Total params: {(trainable + frozen).ToString("N0", CultureInfo.InvariantCulture)}");
        sb.AppendLine($"Trainable params: {trainable.ToString("N0", CultureInfo.InvariantCulture)}");
        sb.AppendLine($"Non-trainable params: {frozen.ToString("N0", CultureInfo.InvariantCulture)}");
        sb.Append(new string('-', width));
        return sb.ToString();
    }
}
