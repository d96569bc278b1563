using System.Text.Json;

namespace DualCluster.Fleet;

/// <summary>
/// The registry's record format for shared stores: compact JSON, written and read by hand (no reflection), so a
/// store holds one opaque string per node. Unknown properties are ignored, so newer nodes can add fields.
/// </summary>
internal static class FleetMemberJson
{
    public static string Write(FleetMember member)
    {
        ArgumentNullException.ThrowIfNull(member);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("node", member.NodeId);
            json.WriteNumber("version", member.RoutingVersion);
            if (member.ProducerTarget is { } target)
            {
                json.WriteString("producer", target.ToString());
            }

            json.WriteStartArray("writes");
            foreach (var write in member.Writes)
            {
                json.WriteStartObject();
                json.WriteString("topic", write.Topic);
                json.WriteString("cluster", write.Cluster.ToString());
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("consumers");
            foreach (var consumer in member.Consumers)
            {
                json.WriteStartObject();
                json.WriteString("group", consumer.Group);
                json.WriteString("topic", consumer.Topic);
                json.WriteNumber("reading", (int)consumer.Reading);
                json.WriteNumber("positioned", (int)consumer.Positioned);
                json.WriteNumber("draining", (int)consumer.Draining);
                json.WriteNumber("targets", (int)consumer.Targets);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <exception cref="FormatException">The text is not a fleet record.</exception>
    public static FleetMember Read(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        try
        {
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            ClusterRole? producer = root.TryGetProperty("producer", out var p) ? Enum.Parse<ClusterRole>(p.GetString()!) : null;
            var writes = new List<FleetWrite>();
            if (root.TryGetProperty("writes", out var w))
            {
                foreach (var item in w.EnumerateArray())
                {
                    writes.Add(new FleetWrite(item.GetProperty("topic").GetString()!, Enum.Parse<ClusterRole>(item.GetProperty("cluster").GetString()!)));
                }
            }

            var consumers = new List<FleetConsumer>();
            if (root.TryGetProperty("consumers", out var c))
            {
                foreach (var item in c.EnumerateArray())
                {
                    consumers.Add(new FleetConsumer(
                        item.GetProperty("group").GetString()!,
                        item.GetProperty("topic").GetString()!,
                        (ClusterSet)item.GetProperty("reading").GetInt32(),
                        (ClusterSet)item.GetProperty("positioned").GetInt32(),
                        (ClusterSet)item.GetProperty("draining").GetInt32())
                    {
                        Targets = item.TryGetProperty("targets", out var targets) ? (ClusterSet)targets.GetInt32() : ClusterSet.None,
                    });
                }
            }

            return new FleetMember(root.GetProperty("node").GetString()!, root.GetProperty("version").GetInt64(), producer, writes, consumers);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or ArgumentException)
        {
            throw new FormatException($"Not a fleet registry record: {ex.Message}", ex);
        }
    }
}
