using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace DualCluster.RocketMQ.Remoting;

/// <summary>
/// A topic's route from the name server (<c>TopicRouteData</c>, fact sheet §2.1), parsed leniently:
/// fastjson's bare numeric map keys are accepted, as are <c>topicSynFlag</c> and <c>topicSysFlag</c>.
/// </summary>
internal sealed partial class TopicRoute
{
    public const int PermWrite = 2;
    public const int PermRead = 4;

    public required string Topic { get; init; }

    public required IReadOnlyList<BrokerData> Brokers { get; init; }

    public required IReadOnlyList<QueueData> Queues { get; init; }

    public string? OrderTopicConf { get; init; }

    /// <summary>The queues a producer writes, in the Java client's order (§2.1 "Publish list").</summary>
    public IReadOnlyList<MessageQueue> PublishQueues(string topic)
    {
        var result = new List<MessageQueue>();
        if (!string.IsNullOrEmpty(OrderTopicConf))
        {
            foreach (var pair in OrderTopicConf.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var parts = pair.Split(':');
                if (parts.Length == 2 && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var count))
                {
                    for (var i = 0; i < count; i++)
                    {
                        result.Add(new MessageQueue(topic, parts[0], i));
                    }
                }
            }

            return result;
        }

        foreach (var queue in Queues.OrderBy(q => q.BrokerName, StringComparer.Ordinal))
        {
            if ((queue.Perm & PermWrite) == 0 || MasterAddress(queue.BrokerName) is null)
            {
                continue;
            }

            for (var i = 0; i < queue.WriteQueueNums; i++)
            {
                result.Add(new MessageQueue(topic, queue.BrokerName, i));
            }
        }

        return result;
    }

    /// <summary>The queues consumers read (§2.1 "Subscribe set"), sorted.</summary>
    public List<MessageQueue> SubscribeQueues(string topic)
    {
        var result = new List<MessageQueue>();
        foreach (var queue in Queues)
        {
            if ((queue.Perm & PermRead) != 0)
            {
                for (var i = 0; i < queue.ReadQueueNums; i++)
                {
                    result.Add(new MessageQueue(topic, queue.BrokerName, i));
                }
            }
        }

        result.Sort();
        return result;
    }

    /// <summary>The master (id 0) address of <paramref name="brokerName"/>, or null.</summary>
    public string? MasterAddress(string brokerName)
    {
        foreach (var broker in Brokers)
        {
            if (broker.BrokerName == brokerName)
            {
                return broker.Addresses.TryGetValue(0, out var address) ? address : null;
            }
        }

        return null;
    }

    /// <summary>The master, else any slave (reads while the master is down).</summary>
    public string? ReadAddress(string brokerName)
    {
        foreach (var broker in Brokers)
        {
            if (broker.BrokerName == brokerName)
            {
                return broker.Addresses.TryGetValue(0, out var master) ? master : broker.Addresses.Values.FirstOrDefault();
            }
        }

        return null;
    }

    /// <summary>Every broker address in the route.</summary>
    public IEnumerable<string> AllAddresses() => Brokers.SelectMany(b => b.Addresses.Values);

    /// <summary>Parses a route body; tolerant of fastjson's non-standard output (§9 risk 1).</summary>
    /// <exception cref="InvalidDataException">The body is not a route.</exception>
    public static TopicRoute Parse(string topic, ReadOnlySpan<byte> body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body.ToArray());
        }
        catch (JsonException)
        {
            var text = BareNumericKey().Replace(Encoding.UTF8.GetString(body), "$1\"$2\":");
            try
            {
                document = JsonDocument.Parse(text);
            }
            catch (JsonException ex)
            {
                throw new InvalidDataException($"Route data for '{topic}' is not parseable JSON.", ex);
            }
        }

        using (document)
        {
            var root = document.RootElement;
            var brokers = new List<BrokerData>();
            if (root.TryGetProperty("brokerDatas", out var brokerDatas) && brokerDatas.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in brokerDatas.EnumerateArray())
                {
                    var addresses = new Dictionary<long, string>();
                    if (item.TryGetProperty("brokerAddrs", out var addrs) && addrs.ValueKind == JsonValueKind.Object)
                    {
                        foreach (var address in addrs.EnumerateObject())
                        {
                            if (long.TryParse(address.Name, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var id) && address.Value.GetString() is { } value)
                            {
                                addresses[id] = value;
                            }
                        }
                    }

                    brokers.Add(new BrokerData(GetString(item, "cluster") ?? string.Empty, GetString(item, "brokerName") ?? string.Empty, addresses));
                }
            }

            var queues = new List<QueueData>();
            if (root.TryGetProperty("queueDatas", out var queueDatas) && queueDatas.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in queueDatas.EnumerateArray())
                {
                    queues.Add(new QueueData(
                        GetString(item, "brokerName") ?? string.Empty,
                        GetInt(item, "readQueueNums"),
                        GetInt(item, "writeQueueNums"),
                        GetInt(item, "perm"),
                        item.TryGetProperty("topicSysFlag", out _) ? GetInt(item, "topicSysFlag") : GetInt(item, "topicSynFlag")));
                }
            }

            return new TopicRoute { Topic = topic, Brokers = brokers, Queues = queues, OrderTopicConf = GetString(root, "orderTopicConf") };
        }
    }

    private static string? GetString(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static int GetInt(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value)
            ? value.ValueKind == JsonValueKind.Number ? value.GetInt32() : int.TryParse(value.GetString(), CultureInfo.InvariantCulture, out var parsed) ? parsed : 0
            : 0;

    [GeneratedRegex(@"([{,]\s*)(-?\d+)\s*:")]
    private static partial Regex BareNumericKey();
}

/// <summary>A broker name and its addresses by broker id (0 = master).</summary>
internal sealed record BrokerData(string Cluster, string BrokerName, IReadOnlyDictionary<long, string> Addresses);

/// <summary>A broker name's queue counts and permission for one topic.</summary>
internal sealed record QueueData(string BrokerName, int ReadQueueNums, int WriteQueueNums, int Perm, int TopicSysFlag);
