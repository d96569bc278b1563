namespace DualCluster.RocketMQ.Remoting;

/// <summary>The sender-language byte codes and JSON names (fact sheet §1.5).</summary>
internal static class LanguageCode
{
    public const byte Java = 0;
    public const byte DotNet = 2;

    private static readonly string[] Names =
        ["JAVA", "CPP", "DOTNET", "PYTHON", "DELPHI", "ERLANG", "RUBY", "OTHER", "HTTP", "GO", "PHP", "OMS", "RUST"];

    public static string ToName(byte code) => code < Names.Length ? Names[code] : "OTHER";

    public static byte FromName(string? name)
    {
        var index = name is null ? -1 : Array.IndexOf(Names, name);
        return index < 0 ? (byte)7 : (byte)index;
    }
}
