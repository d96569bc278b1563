using System.Text.Json;
using DualCluster.Transport;

namespace DualCluster.RocketMQ.Remoting;

/// <summary>
/// The 4.x brokers' facts about consumer groups, asked of every master broker of the topic's route:
/// QUERY_TOPIC_CONSUME_BY_WHO (300) — the groups with a live subscription to the topic plus the groups with offsets of
/// it (AdminBrokerProcessor.queryTopicConsumeByWho: ConsumerManager.queryTopicConsumeByWho ∪
/// ConsumerOffsetManager.whichGroupByTopic), body <c>{"groupList":[…]}</c> — and QUERY_CONSUMER_OFFSET (14) on every
/// queue (ConsumerManageProcessor.queryConsumerOffset). A topic the name server does not know has no groups.
/// </summary>
internal sealed class RemotingGroupProbe(RemotingClient client) : IConsumerGroupProbe
{
    private static readonly string TopicNotExistCode = ResponseCode.TopicNotExist.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public async ValueTask<IReadOnlyCollection<string>> GetConsumerGroupsAsync(string topic, CancellationToken cancellationToken = default)
    {
        MessageValidator.ValidateTopic(topic);
        var wrappedTopic = client.Namespace.Wrap(topic);
        if (await RouteAsync(wrappedTopic, cancellationToken).ConfigureAwait(false) is not { } route)
        {
            return [];
        }

        var answers = await Task.WhenAll(Masters(route, wrappedTopic).Select(async address =>
        {
            var request = RemotingCommand.CreateRequest(RequestCode.QueryTopicConsumeByWho).Set("topic", wrappedTopic);
            var response = await client.InvokeAsync(address, request, null, "Consumer group query", cancellationToken).ConfigureAwait(false);
            return response.Code == ResponseCode.Success
                ? ParseGroupList(response.Body.Span)
                : throw RemotingErrors.FromResponse(client.Role, response, "Consumer group query");
        })).ConfigureAwait(false);

        var groups = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var group in answers.SelectMany(a => a))
        {
            groups.Add(client.Namespace.Unwrap(group));
        }

        return groups;
    }

    public async ValueTask<bool> HasPositionAsync(string group, string topic, CancellationToken cancellationToken = default)
    {
        MessageValidator.ValidateGroup(group);
        MessageValidator.ValidateTopic(topic);
        var wrappedGroup = client.Namespace.Wrap(group);
        var wrappedTopic = client.Namespace.Wrap(topic);
        if (await RouteAsync(wrappedTopic, cancellationToken).ConfigureAwait(false) is not { } route)
        {
            return false;
        }

        var queues = route.SubscribeQueues(wrappedTopic);
        if (queues.Count == 0)
        {
            return false;
        }

        var offsets = await Task.WhenAll(queues.Select(queue => QueueOffsets.QueryAsync(
            client, MasterOf(route, queue.BrokerName, wrappedTopic), RequestCode.QueryConsumerOffset, queue, wrappedGroup, "Consumer offset query", cancellationToken))).ConfigureAwait(false);
        return Array.TrueForAll(offsets, o => o is not null);
    }

    /// <summary>The body of QUERY_TOPIC_CONSUME_BY_WHO: GroupList as fastjson writes it, <c>{"groupList":["a","b"]}</c>.</summary>
    internal static List<string> ParseGroupList(ReadOnlySpan<byte> body)
    {
        var groups = new List<string>();
        if (body.IsEmpty)
        {
            return groups;
        }

        var reader = new Utf8JsonReader(body);
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals("groupList"u8))
            {
                if (reader.Read() && reader.TokenType == JsonTokenType.StartArray)
                {
                    while (reader.Read() && reader.TokenType == JsonTokenType.String)
                    {
                        groups.Add(reader.GetString()!);
                    }
                }

                break;
            }
        }

        return groups;
    }

    private async Task<TopicRoute?> RouteAsync(string wrappedTopic, CancellationToken cancellationToken)
    {
        try
        {
            return await client.GetRouteAsync(wrappedTopic, refresh: true, cancellationToken).ConfigureAwait(false);
        }
        catch (ClusterTransportException ex) when (ex.StatusCode == TopicNotExistCode)
        {
            return null;
        }
    }

    /// <summary>The master address of every broker serving the topic: only masters hold the authoritative offsets and subscriptions.</summary>
    private IEnumerable<string> Masters(TopicRoute route, string wrappedTopic) =>
        route.Queues.Select(q => q.BrokerName).Distinct(StringComparer.Ordinal).Select(name => MasterOf(route, name, wrappedTopic));

    private string MasterOf(TopicRoute route, string brokerName, string wrappedTopic) =>
        route.MasterAddress(brokerName)
        ?? throw new ClusterTransportException(client.Role, null, true, $"Broker '{brokerName}' of topic '{wrappedTopic}' has no master in the route; its consumer groups cannot be asked.");
}
