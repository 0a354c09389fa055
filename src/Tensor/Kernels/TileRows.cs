namespace NanoNet.Kernels;

/// <summary>
/// A tile's row count as a type, so one generic register tile serves every height: the JIT compiles a copy per
/// struct argument with <see cref="Count"/> a constant, the <c>if (TRows.Count &gt; k)</c> tests vanish, and the
/// accumulators of rows past the count are never allocated a register (see ConvWeightGradient.Tile.cs).
/// </summary>
internal interface ITileRows
{
    /// <summary>Number of rows, 1 to 9.</summary>
    static abstract int Count { get; }
}

internal readonly struct TileRows1 : ITileRows { public static int Count => 1; }
internal readonly struct TileRows2 : ITileRows { public static int Count => 2; }
internal readonly struct TileRows3 : ITileRows { public static int Count => 3; }
internal readonly struct TileRows4 : ITileRows { public static int Count => 4; }
internal readonly struct TileRows5 : ITileRows { public static int Count => 5; }
internal readonly struct TileRows6 : ITileRows { public static int Count => 6; }
internal readonly struct TileRows7 : ITileRows { public static int Count => 7; }
internal readonly struct TileRows8 : ITileRows { public static int Count => 8; }
internal readonly struct TileRows9 : ITileRows { public static int Count => 9; }
