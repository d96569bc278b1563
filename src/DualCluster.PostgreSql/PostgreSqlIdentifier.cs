using System.Text.RegularExpressions;

namespace DualCluster.PostgreSql;

/// <summary>The names the stores accept for schemas and tables: plain identifiers, safe to quote into SQL.</summary>
internal static partial class PostgreSqlIdentifier
{
    /// <summary>Letters, digits and '_', not starting with a digit, at most <paramref name="maxLength"/> characters (63 at most).</summary>
    public static bool IsValid(string? name, int maxLength = 63) => name is not null && name.Length <= maxLength && Plain().IsMatch(name);

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex Plain();
}
