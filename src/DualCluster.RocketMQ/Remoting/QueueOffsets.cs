namespace DualCluster.RocketMQ.Remoting;

/// <summary>
/// The per-queue offset calls of the 4.x protocol (fact sheet §2.4, §2.5, §2.11), shared by the consumer, the backlog
/// probe and the group probe: GET_MAX_OFFSET / GET_MIN_OFFSET / QUERY_CONSUMER_OFFSET, and a committing
/// UPDATE_CONSUMER_OFFSET whose answer is awaited.
/// </summary>
internal static class QueueOffsets
{
    /// <summary>
    /// Asks the broker at <paramref name="address"/> for an offset of <paramref name="queue"/>: <paramref name="code"/> is
    /// GET_MAX_OFFSET, GET_MIN_OFFSET or QUERY_CONSUMER_OFFSET (then with <paramref name="group"/>). Null when the broker
    /// answers QUERY_NOT_FOUND (22) to QUERY_CONSUMER_OFFSET: the group has no offset there
    /// (ConsumerManageProcessor.queryConsumerOffset).
    /// </summary>
    /// <exception cref="Transport.ClusterTransportException">The broker could not be reached or answered another error.</exception>
    public static async Task<long?> QueryAsync(
        RemotingClient client, string address, int code, MessageQueue queue, string? group, string what, CancellationToken cancellationToken)
    {
        var request = RemotingCommand.CreateRequest(code);
        if (group is not null)
        {
            request.Set("consumerGroup", group);
        }

        request.Set("topic", queue.Topic).Set("queueId", queue.QueueId).Set("bname", queue.BrokerName);
        var response = await client.InvokeAsync(address, request, null, what, cancellationToken).ConfigureAwait(false);
        return response.Code switch
        {
            ResponseCode.Success => response.GetLong("offset") ?? 0,
            ResponseCode.QueryNotFound when code == RequestCode.QueryConsumerOffset => null,
            _ => throw RemotingErrors.FromResponse(client.Role, response, what),
        };
    }

    /// <summary>The UPDATE_CONSUMER_OFFSET request committing <paramref name="offset"/> of <paramref name="group"/> on <paramref name="queue"/>.</summary>
    public static RemotingCommand CommitRequest(string group, MessageQueue queue, long offset) =>
        RemotingCommand.CreateRequest(RequestCode.UpdateConsumerOffset)
            .Set("consumerGroup", group)
            .Set("topic", queue.Topic)
            .Set("queueId", queue.QueueId)
            .Set("commitOffset", offset)
            .Set("bname", queue.BrokerName);
}
