using System.Text.Json.Serialization;

namespace NanoNet.Persistence;

/// <summary>
/// The source-generated System.Text.Json serializer of <see cref="CheckpointDocument"/> (no reflection:
/// trim and NativeAOT safe). Unknown or missing properties are errors.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true,
    MaxDepth = 8)]
[JsonSerializable(typeof(CheckpointDocument))]
internal sealed partial class CheckpointJson : JsonSerializerContext;
