using DualCluster.Transport;

namespace DualCluster.RocketMQ.Remoting;

/// <summary>
/// Exact backlog from standard-header calls (fact sheet §2.11, recommended form): per queue
/// GET_MAX_OFFSET − QUERY_CONSUMER_OFFSET on every broker of the topic, plus the group's retry topic.
/// A queue the group never committed counts from its min offset (everything stored is unconsumed). Delayed
/// is the brokers' whole schedule (see <see cref="ScheduledAsync"/>): conservative, exactly 0 when drained.
/// </summary>
internal sealed class RemotingBacklogProbe(RemotingClient client, Func<string, string, RemotingConsumer?> findConsumer) : IBacklogProbe
{
    public async ValueTask<BacklogReport> GetBacklogAsync(string group, string topic, CancellationToken cancellationToken = default)
    {
        MessageValidator.ValidateGroup(group);
        MessageValidator.ValidateTopic(topic);
        var wrappedGroup = client.Namespace.Wrap(group);
        var wrappedTopic = client.Namespace.Wrap(topic);
        var retryTopic = MessageConst.RetryTopicOf(wrappedGroup);

        var (queues, route) = await LagAsync(wrappedGroup, wrappedTopic, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<QueueBacklog> retryQueues;
        TopicRoute? retryRoute = null;
        try
        {
            (retryQueues, retryRoute) = await LagAsync(wrappedGroup, retryTopic, cancellationToken).ConfigureAwait(false);
        }
        catch (ClusterTransportException ex) when (ex.StatusCode == "17")
        {
            retryQueues = []; // No retry topic yet: the group never sent anything back.
        }

        var ready = queues.Sum(q => q.Lag);
        var retry = retryQueues.Sum(q => q.Lag);
        // InFlight = what this client pulled and has not committed (0 when it does not consume the group here).
        // Those messages sit above the committed offsets, i.e. inside the lag: move them out of Ready/Retry.
        // Other clients' uncommitted messages stay inside Ready, so the total is exact either way.
        var consumer = findConsumer(wrappedGroup, wrappedTopic);
        long inFlight = 0;
        if (consumer is not null)
        {
            var mine = Math.Min(consumer.InFlightFor(wrappedTopic), ready);
            var mineRetry = Math.Min(consumer.InFlightFor(retryTopic), retry);
            ready -= mine;
            retry -= mineRetry;
            inFlight = mine + mineRetry;
        }

        var (delayed, delayedRemark) = await ScheduledAsync(Brokers(route, retryRoute), cancellationToken).ConfigureAwait(false);
        return new BacklogReport
        {
            Ready = ready,
            Retry = retry,
            InFlight = inFlight,
            Delayed = delayed,
            Queues = [.. queues, .. retryQueues],
            Remark = "Other clients' uncommitted messages are counted in Ready; " + delayedRemark,
        };
    }

    /// <summary>
    /// Delayed messages and retries waiting for their delay live in <c>SCHEDULE_TOPIC_XXXX</c> (§3.5.1), one queue per
    /// level, not attributable to a group. The count is every broker's not-yet-due schedule (queue max offset minus
    /// the schedule service's progress from GET_ALL_DELAY_OFFSET): an upper bound of this group's, exactly 0 when
    /// nothing is scheduled — so a drained report is never wrong. Unknown when a broker does not answer.
    /// </summary>
    private async Task<(long? Count, string Remark)> ScheduledAsync(IReadOnlyCollection<(string Name, string Address)> brokers, CancellationToken cancellationToken)
    {
        long total = 0;
        foreach (var (name, address) in brokers)
        {
            var response = await client.InvokeAsync(address, RemotingCommand.CreateRequest(RequestCode.GetAllDelayOffset), null, "Delay offset query", cancellationToken).ConfigureAwait(false);
            if (response.Code != ResponseCode.Success)
            {
                return (null, $"Delayed is unknown: broker '{name}' did not report its schedule progress (code {response.Code}: {response.Remark})");
            }

            var progress = ParseDelayOffsets(response.Body.Span);
            var levels = Math.Max(MessageConst.DelayLevels.Length, progress.Count == 0 ? 0 : progress.Keys.Max());
            var maxima = await Task.WhenAll(Enumerable.Range(1, levels).Select(level =>
                QueueOffsets.QueryAsync(client, address, RequestCode.GetMaxOffset, new MessageQueue(MessageConst.ScheduleTopic, name, level - 1), null, "Schedule max offset query", cancellationToken))).ConfigureAwait(false);
            for (var level = 1; level <= levels; level++)
            {
                total += Math.Max(0, (maxima[level - 1] ?? 0) - progress.GetValueOrDefault(level));
            }
        }

        return (total, total == 0
            ? "nothing is scheduled (delayed or waiting to retry) on the topic's brokers"
            : $"Delayed counts every not-yet-due scheduled message on the topic's brokers ({total}), whatever its group: 4.x keeps them in SCHEDULE_TOPIC_XXXX");
    }

    private static List<(string Name, string Address)> Brokers(TopicRoute route, TopicRoute? retryRoute)
    {
        var brokers = new List<(string Name, string Address)>();
        foreach (var r in retryRoute is null ? [route] : new[] { route, retryRoute })
        {
            foreach (var broker in r.Brokers)
            {
                if ((r.MasterAddress(broker.BrokerName) ?? r.ReadAddress(broker.BrokerName)) is { } address && !brokers.Exists(b => b.Name == broker.BrokerName))
                {
                    brokers.Add((broker.BrokerName, address));
                }
            }
        }

        return brokers;
    }

    /// <summary>
    /// Reads the body of GET_ALL_DELAY_OFFSET: the broker's <c>delayOffset.json</c>, <c>{"offsetTable":{1:12,3:0}}</c> as
    /// fastjson writes it (bare integer keys, possibly pretty-printed; quoted keys accepted too; other fields ignored).
    /// </summary>
    internal static Dictionary<int, long> ParseDelayOffsets(ReadOnlySpan<byte> body)
    {
        var table = new Dictionary<int, long>();
        var text = System.Text.Encoding.UTF8.GetString(body);
        var start = text.IndexOf("\"offsetTable\"", StringComparison.Ordinal);
        if (start < 0)
        {
            return table;
        }

        var open = text.IndexOf('{', start);
        var close = open < 0 ? -1 : text.IndexOf('}', open);
        if (close < 0)
        {
            return table;
        }

        foreach (var entry in text[(open + 1)..close].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var colon = entry.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0
                && int.TryParse(entry[..colon].Trim().Trim('"'), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var level)
                && long.TryParse(entry[(colon + 1)..].Trim().Trim('"'), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var offset))
            {
                table[level] = offset;
            }
        }

        return table;
    }

    private async Task<(IReadOnlyList<QueueBacklog> Queues, TopicRoute Route)> LagAsync(string wrappedGroup, string wrappedTopic, CancellationToken cancellationToken)
    {
        var route = await client.GetRouteAsync(wrappedTopic, refresh: true, cancellationToken).ConfigureAwait(false);
        var tasks = route.SubscribeQueues(wrappedTopic).Select(async queue =>
        {
            var address = route.MasterAddress(queue.BrokerName) ?? route.ReadAddress(queue.BrokerName)
                ?? throw new ClusterTransportException(client.Role, null, true, $"Broker '{queue.BrokerName}' of topic '{wrappedTopic}' has no address in the route.");
            var max = await QueueOffsets.QueryAsync(client, address, RequestCode.GetMaxOffset, queue, null, "Max offset query", cancellationToken).ConfigureAwait(false);
            var committed = await QueueOffsets.QueryAsync(client, address, RequestCode.QueryConsumerOffset, queue, wrappedGroup, "Consumer offset query", cancellationToken).ConfigureAwait(false);
            committed ??= await QueueOffsets.QueryAsync(client, address, RequestCode.GetMinOffset, queue, null, "Min offset query", cancellationToken).ConfigureAwait(false) ?? 0;
            return new QueueBacklog(queue.BrokerName, queue.QueueId, max ?? 0, committed.Value);
        });
        return (await Task.WhenAll(tasks).ConfigureAwait(false), route);
    }
}
