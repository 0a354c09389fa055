using System.Text.Json.Serialization;

namespace NanoNet.Persistence;

/// <summary>
/// The source-generated System.Text.Json serializer of <see cref="ArchitectureDocument"/>: no reflection,
/// so it survives trimming and NativeAOT. Unknown or missing properties are errors, not defaults.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    MaxDepth = 16)]
[JsonSerializable(typeof(ArchitectureDocument))]
internal sealed partial class ArchitectureJson : JsonSerializerContext;
