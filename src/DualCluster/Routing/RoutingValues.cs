namespace DualCluster.Routing;

/// <summary>Parses the text values allowed in configuration (case-insensitive).</summary>
internal static class RoutingValues
{
    public static bool TryParseRole(string? value, out ClusterRole role)
    {
        role = default;
        if (string.IsNullOrWhiteSpace(value))
        {
            return false;
        }

        switch (value.Trim().ToUpperInvariant())
        {
            case "OLD": role = ClusterRole.Old; return true;
            case "NEW": role = ClusterRole.New; return true;
            default: return false;
        }
    }

    public static bool TryParseSet(string? value, out ClusterSet set)
    {
        set = default;
        if (string.IsNullOrWhiteSpace(value))
        {
            return false;
        }

        switch (value.Trim().ToUpperInvariant())
        {
            case "OLD": set = ClusterSet.Old; return true;
            case "NEW": set = ClusterSet.New; return true;
            case "BOTH": set = ClusterSet.Both; return true;
            default: return false;
        }
    }

    public static bool TryParseFailover(string? value, out bool otherCluster)
    {
        otherCluster = false;
        switch (value?.Trim().ToUpperInvariant())
        {
            case null or "" or "NONE": return true;
            case "OTHERCLUSTER": otherCluster = true; return true;
            default: return false;
        }
    }
}
