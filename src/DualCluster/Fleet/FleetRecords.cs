namespace DualCluster.Fleet;

/// <summary>
/// Turns the records a shared store holds (node id, <see cref="FleetMemberJson"/> text) into the registry's answer:
/// members ordered by node id (ordinal, whatever the store's collation), a malformed record skipped so one bad writer
/// does not blind every reader.
/// </summary>
internal static class FleetRecords
{
    /// <param name="records">The live records: the node id the store keys them by, and the record text.</param>
    /// <param name="malformed">Told of each record skipped because it is not a fleet record.</param>
    public static IReadOnlyList<FleetMember> Decode(IEnumerable<(string NodeId, string Record)> records, Action<string, FormatException>? malformed)
    {
        ArgumentNullException.ThrowIfNull(records);
        var members = new List<FleetMember>();
        foreach (var (nodeId, record) in records)
        {
            try
            {
                members.Add(FleetMemberJson.Read(record));
            }
            catch (FormatException ex)
            {
                malformed?.Invoke(nodeId, ex);
            }
        }

        members.Sort(static (a, b) => string.CompareOrdinal(a.NodeId, b.NodeId));
        return members;
    }
}
