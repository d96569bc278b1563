using DualCluster.Transport;

namespace DualCluster.RocketMQ.Remoting;

/// <summary>
/// Exact backlog from standard-header calls (fact sheet §2.11, recommended form): per queue
/// GET_MAX_OFFSET − QUERY_CONSUMER_OFFSET on every broker of the topic, plus the group's retry topic.
/// A queue the group never committed counts from its min offset (everything stored is unconsumed).
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

        var queues = await LagAsync(wrappedGroup, wrappedTopic, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<QueueBacklog> retryQueues;
        try
        {
            retryQueues = await LagAsync(wrappedGroup, retryTopic, cancellationToken).ConfigureAwait(false);
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

        const string remark = "Delayed is unknown: 4.x brokers keep delayed messages (and retries waiting for their delay) in SCHEDULE_TOPIC_XXXX, not attributable to a group; other clients' uncommitted messages are counted in Ready";

        return new BacklogReport
        {
            Ready = ready,
            Retry = retry,
            InFlight = inFlight,
            Delayed = null,
            Queues = [.. queues, .. retryQueues],
            Remark = remark,
        };
    }

    private async Task<IReadOnlyList<QueueBacklog>> LagAsync(string wrappedGroup, string wrappedTopic, CancellationToken cancellationToken)
    {
        var route = await client.GetRouteAsync(wrappedTopic, refresh: true, cancellationToken).ConfigureAwait(false);
        var tasks = route.SubscribeQueues(wrappedTopic).Select(async queue =>
        {
            var address = route.MasterAddress(queue.BrokerName) ?? route.ReadAddress(queue.BrokerName)
                ?? throw new ClusterTransportException(client.Role, null, true, $"Broker '{queue.BrokerName}' of topic '{wrappedTopic}' has no address in the route.");
            var max = await QueryOffsetAsync(address, RequestCode.GetMaxOffset, queue, null, "Max offset query", cancellationToken).ConfigureAwait(false);
            var committed = await QueryOffsetAsync(address, RequestCode.QueryConsumerOffset, queue, wrappedGroup, "Consumer offset query", cancellationToken).ConfigureAwait(false);
            committed ??= await QueryOffsetAsync(address, RequestCode.GetMinOffset, queue, null, "Min offset query", cancellationToken).ConfigureAwait(false) ?? 0;
            return new QueueBacklog(queue.BrokerName, queue.QueueId, max ?? 0, committed.Value);
        });
        return await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    private async Task<long?> QueryOffsetAsync(string address, int code, MessageQueue queue, string? group, string what, CancellationToken cancellationToken)
    {
        var request = RemotingCommand.CreateRequest(code).Set("topic", queue.Topic).Set("queueId", queue.QueueId).Set("bname", queue.BrokerName);
        if (group is not null)
        {
            request.Set("consumerGroup", group);
        }

        var response = await client.InvokeAsync(address, request, null, what, cancellationToken).ConfigureAwait(false);
        return response.Code switch
        {
            ResponseCode.Success => response.GetLong("offset") ?? 0,
            ResponseCode.QueryNotFound when code == RequestCode.QueryConsumerOffset => null,
            _ => throw RemotingErrors.FromResponse(client.Role, response, what),
        };
    }
}
