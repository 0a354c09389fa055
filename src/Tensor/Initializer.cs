using System.Globalization;

namespace NanoNet;

/// <summary>
/// A weight initializer chosen per layer (Keras's <c>kernel_initializer="he_normal"</c>): a Keras name and
/// its parameter, filling a weight of a given shape from a <see cref="RandomStream"/>. Fans follow Keras:
/// for shape (..., in, out) the receptive field r = the product of the leading axes, fanIn = r·in,
/// fanOut = r·out; a rank-1 weight has fanIn = fanOut = its length.
/// </summary>
/// <remarks>
/// The variance-scaling family, as Keras: uniform U(−l, l) with l = √(3·scale/fan), normal with
/// std = √(scale/fan)/0.8796 truncated at 2 std (0.8796 is the std of a standard normal truncated there,
/// so the result has the intended variance). Glorot: scale 1, fan = (fanIn + fanOut)/2; He: scale 2,
/// fan = fanIn; LeCun: scale 1, fan = fanIn. Orthogonal flattens the weight to (product of all axes but
/// the last, last) as Keras does.
/// </remarks>
public sealed class Initializer
{
    private const float TruncatedStd = 0.87962566103423978f;

    private Initializer(string name, float value = 0f)
    {
        Name = name;
        Value = value;
    }

    /// <summary>Keras's name, e.g. "glorot_uniform".</summary>
    public string Name { get; }

    /// <summary>The constant of <see cref="Constant"/>, or the gain of <see cref="Orthogonal"/> (1 by default); 0 otherwise.</summary>
    public float Value { get; }

    /// <summary>Glorot (Xavier) uniform, Keras's default kernel initializer.</summary>
    public static Initializer GlorotUniform { get; } = new("glorot_uniform");

    /// <summary>Glorot normal (truncated).</summary>
    public static Initializer GlorotNormal { get; } = new("glorot_normal");

    /// <summary>He uniform, for ReLU layers.</summary>
    public static Initializer HeUniform { get; } = new("he_uniform");

    /// <summary>He normal (truncated).</summary>
    public static Initializer HeNormal { get; } = new("he_normal");

    /// <summary>LeCun uniform.</summary>
    public static Initializer LecunUniform { get; } = new("lecun_uniform");

    /// <summary>LeCun normal (truncated), for SELU networks.</summary>
    public static Initializer LecunNormal { get; } = new("lecun_normal");

    /// <summary>All zeros (Keras's default bias).</summary>
    public static Initializer Zeros { get; } = new("zeros");

    /// <summary>All ones.</summary>
    public static Initializer Ones { get; } = new("ones", 1f);

    /// <summary>Orthogonal with gain 1 (Keras's default recurrent kernel).</summary>
    public static Initializer Orthogonal { get; } = new("orthogonal", 1f);

    /// <summary>Orthogonal times <paramref name="gain"/>.</summary>
    public static Initializer OrthogonalWithGain(float gain) => new("orthogonal", Finite(gain));

    /// <summary>Every value <paramref name="value"/>.</summary>
    public static Initializer Constant(float value) => new("constant", Finite(value));

    /// <summary>Fills <paramref name="values"/>, a weight of shape <paramref name="shape"/>, drawing from <paramref name="rng"/>.</summary>
    public void Fill(Span<float> values, ReadOnlySpan<int> shape, RandomStream rng)
    {
        (int fanIn, int fanOut) = Fans(shape);
        switch (Name)
        {
            case "zeros": values.Clear(); break;
            case "ones": case "constant": values.Fill(Value); break;
            case "orthogonal": Initializers.Orthogonal(values, values.Length / Math.Max(1, LastAxis(shape)), LastAxis(shape), rng, Value); break;
            default:
                (float scale, float fan) = Name switch
                {
                    "glorot_uniform" or "glorot_normal" => (1f, (fanIn + fanOut) / 2f),
                    "he_uniform" or "he_normal" => (2f, fanIn),
                    _ => (1f, fanIn), // lecun
                };
                fan = Math.Max(1f, fan);
                if (Name.EndsWith("uniform", StringComparison.Ordinal))
                {
                    float limit = MathF.Sqrt(3f * scale / fan);
                    Initializers.FillUniform(values, rng, -limit, limit);
                }
                else
                {
                    Initializers.FillTruncatedNormal(values, rng, 0f, MathF.Sqrt(scale / fan) / TruncatedStd);
                }
                break;
        }

        static int LastAxis(ReadOnlySpan<int> shape) => shape.Length == 0 ? 1 : shape[^1];
    }

    /// <summary>Keras's fans of a weight shape (see the class summary).</summary>
    public static (int FanIn, int FanOut) Fans(ReadOnlySpan<int> shape)
    {
        if (shape.Length == 0)
            return (1, 1);
        if (shape.Length == 1)
            return (shape[0], shape[0]);
        int receptive = 1;
        for (int i = 0; i < shape.Length - 2; i++)
            receptive *= shape[i];
        return (receptive * shape[^2], receptive * shape[^1]);
    }

    /// <summary>The name as saved in a layer's config: the Keras name, with the parameter when there is one ("constant(0.5)", "orthogonal(2)").</summary>
    public override string ToString() => Name switch
    {
        "constant" => $"constant({Value.ToString(CultureInfo.InvariantCulture)})",
        "orthogonal" when Value != 1f => $"orthogonal({Value.ToString(CultureInfo.InvariantCulture)})",
        _ => Name,
    };

    /// <summary>Reads <see cref="ToString"/>'s form back (Keras names, case-insensitive).</summary>
    /// <exception cref="ArgumentException">Unknown name or unreadable parameter; the message lists the known names.</exception>
    public static Initializer Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        (string name, float? parameter) = ConfigText.NameAndParameter(text, "initializer");
        Initializer? found = name.ToLowerInvariant() switch
        {
            "glorot_uniform" => GlorotUniform,
            "glorot_normal" => GlorotNormal,
            "he_uniform" => HeUniform,
            "he_normal" => HeNormal,
            "lecun_uniform" => LecunUniform,
            "lecun_normal" => LecunNormal,
            "zeros" => Zeros,
            "ones" => Ones,
            "orthogonal" => parameter is { } gain ? OrthogonalWithGain(gain) : Orthogonal,
            "constant" => Constant(parameter ?? 0f),
            _ => null,
        };
        return found ?? throw new ArgumentException(
            $"Unknown initializer \"{text}\"; known: glorot_uniform, glorot_normal, he_uniform, he_normal, lecun_uniform, lecun_normal, orthogonal, zeros, ones, constant(value).", nameof(text));
    }

    private static float Finite(float value) =>
        float.IsFinite(value) ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "An initializer's parameter must be finite.");
}

/// <summary>Reads "name" or "name(a)" / "name(a,b)" as saved in layer configs.</summary>
internal static class ConfigText
{
    public static (string Name, float? Parameter) NameAndParameter(string text, string what)
    {
        (string name, float[] parameters) = NameAndParameters(text, what);
        if (parameters.Length > 1)
            throw new ArgumentException($"The {what} \"{text}\" takes at most one parameter.");
        return (name, parameters.Length == 1 ? parameters[0] : null);
    }

    public static (string Name, float[] Parameters) NameAndParameters(string text, string what)
    {
        text = text.Trim();
        int open = text.IndexOf('(');
        if (open < 0)
            return (text, []);
        if (!text.EndsWith(')'))
            throw new ArgumentException($"The {what} \"{text}\" is not of the form name(value).");
        string[] parts = text[(open + 1)..^1].Split(',', StringSplitOptions.TrimEntries);
        var values = new float[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]))
                throw new ArgumentException($"The {what} \"{text}\" has a parameter \"{parts[i]}\" that is not a number.");
        return (text[..open].Trim(), values);
    }
}
