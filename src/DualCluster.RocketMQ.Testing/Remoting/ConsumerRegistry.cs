using DualCluster.RocketMQ.Remoting;

namespace DualCluster.RocketMQ.Testing.Remoting;

/// <summary>
/// The broker's consumer groups (fact sheet §2.6, §7.3): per group the live channels with their client
/// ids, and the group's subscriptions (last heartbeat wins). Tells the caller which groups changed
/// membership or topics so it can send NOTIFY_CONSUMER_IDS_CHANGED. Thread-safe.
/// </summary>
internal sealed class ConsumerRegistry
{
    private readonly object _gate = new();
    private readonly Dictionary<string, Group> _groups = new(StringComparer.Ordinal);

    /// <summary>Registers <paramref name="connection"/> in <paramref name="group"/>; true when the group changed (new channel or topic set).</summary>
    public bool Upsert(string group, RemotingConnection connection, string clientId, Dictionary<string, SubscriptionEntry> subscriptions)
    {
        lock (_gate)
        {
            if (!_groups.TryGetValue(group, out var state))
            {
                _groups[group] = state = new Group();
            }

            var joined = !state.Members.ContainsKey(connection);
            state.Members[connection] = clientId;
            var topicsChanged = !state.Subscriptions.Keys.ToHashSet(StringComparer.Ordinal).SetEquals(subscriptions.Keys);
            state.Subscriptions = subscriptions;
            return joined || topicsChanged;
        }
    }

    /// <summary>Removes <paramref name="connection"/> from <paramref name="group"/> (all groups when null); returns the groups it left.</summary>
    public List<string> Remove(RemotingConnection connection, string? group = null)
    {
        var left = new List<string>();
        lock (_gate)
        {
            foreach (var (name, state) in _groups)
            {
                if ((group is null || group == name) && state.Members.Remove(connection))
                {
                    left.Add(name);
                }
            }
        }

        return left;
    }

    public List<string> ClientIds(string group)
    {
        lock (_gate)
        {
            return _groups.TryGetValue(group, out var state) ? [.. state.Members.Values.Distinct(StringComparer.Ordinal)] : [];
        }
    }

    public List<RemotingConnection> Channels(string group)
    {
        lock (_gate)
        {
            return _groups.TryGetValue(group, out var state) ? [.. state.Members.Keys] : [];
        }
    }

    /// <summary>
    /// The groups with a live channel whose subscriptions name <paramref name="topic"/> (ConsumerManager.queryTopicConsumeByWho;
    /// Apache drops a group from its consumer table when its last channel goes, so a group without members is not counted).
    /// </summary>
    public List<string> GroupsSubscribing(string topic)
    {
        lock (_gate)
        {
            return [.. _groups.Where(g => g.Value.Members.Count > 0 && g.Value.Subscriptions.ContainsKey(topic)).Select(g => g.Key)];
        }
    }

    public SubscriptionEntry? Subscription(string group, string topic)
    {
        lock (_gate)
        {
            return _groups.TryGetValue(group, out var state) && state.Subscriptions.TryGetValue(topic, out var entry) ? entry : null;
        }
    }

    private sealed class Group
    {
        public Dictionary<RemotingConnection, string> Members { get; } = [];

        public Dictionary<string, SubscriptionEntry> Subscriptions { get; set; } = new(StringComparer.Ordinal);
    }
}

/// <summary>One topic subscription from a heartbeat.</summary>
internal sealed record SubscriptionEntry(string Topic, string Expression, long SubVersion);
