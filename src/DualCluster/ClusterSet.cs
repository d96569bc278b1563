namespace DualCluster;

/// <summary>A set of clusters: where a consumer node reads from.</summary>
[Flags]
#pragma warning disable CA1711 // "Set" is the domain word here, not a collection suffix.
public enum ClusterSet
#pragma warning restore CA1711
{
    /// <summary>No cluster.</summary>
    None = 0,

    /// <summary>The old cluster only.</summary>
    Old = 1,

    /// <summary>The new cluster only.</summary>
    New = 2,

    /// <summary>Both clusters ("double read").</summary>
    Both = Old | New,
}

/// <summary>Helpers for <see cref="ClusterSet"/> and <see cref="ClusterRole"/>.</summary>
public static class ClusterSetExtensions
{
    /// <summary>Whether <paramref name="set"/> contains <paramref name="role"/>.</summary>
    public static bool Contains(this ClusterSet set, ClusterRole role) => (set & role.ToSet()) != 0;

    /// <summary>The one-element set holding <paramref name="role"/>.</summary>
    public static ClusterSet ToSet(this ClusterRole role) => role == ClusterRole.Old ? ClusterSet.Old : ClusterSet.New;

    /// <summary>The other cluster of the pair.</summary>
    public static ClusterRole Other(this ClusterRole role) => role == ClusterRole.Old ? ClusterRole.New : ClusterRole.Old;
}
