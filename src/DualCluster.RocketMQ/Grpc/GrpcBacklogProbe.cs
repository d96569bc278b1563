using Apache.Rocketmq.V2;
using DualCluster.Transport;
using Grpc.Core;

namespace DualCluster.RocketMQ.Grpc;

/// <summary>
/// A group's backlog over the 5.x protocol, as far as the server lets a client see it. <c>MessagingService</c> defines
/// <c>GetOffset</c> (a group's committed offset of a queue) and <c>QueryOffset</c> (a queue's offsets) (fact sheet §1,
/// §2.4), but no Apache proxy implements them (5.0.0 up to 5.3.x answer gRPC UNIMPLEMENTED): then every count stays
/// unknown — never 0 — and the drain check keeps treating the cluster as not drained. Where a server answers both, the
/// probe reports each readable queue's lag (max offset − committed offset) and their sum as <see cref="BacklogReport.Ready"/>;
/// in-flight, retry and delayed messages stay unknown (offsets do not show them), so the report is never "drained" on
/// its own. Thread-safe.
/// </summary>
internal sealed class GrpcBacklogProbe(GrpcConnection connection) : IBacklogProbe
{
    private readonly string _clientId = ClientIdentity.NewClientId(connection.Time);

    // Set once the server answered UNIMPLEMENTED: it will not learn the RPC while this transport lives, so later
    // checks answer unknown without asking again.
    private volatile string? _unimplemented;

    private ClusterRole Role => connection.Role;

    private GrpcTransportOptions Options => connection.Options;

    /// <exception cref="ClusterTransportException">The route or an offset could not be read (other than UNIMPLEMENTED).</exception>
    public async ValueTask<BacklogReport> GetBacklogAsync(string group, string topic, CancellationToken cancellationToken = default)
    {
        if (_unimplemented is { } method)
        {
            return Unknown(group, topic, method);
        }

        var route = await QueryRouteAsync(topic, cancellationToken).ConfigureAwait(false);
        var queues = new List<QueueBacklog>();
        foreach (var queue in route.Queues)
        {
            // Readable queues of master brokers with an address, as a consumer reads them (§2.1 Broker, Permission).
            if (queue.Broker is not { Id: 0 } broker
                || queue.Permission is not (Permission.Read or Permission.ReadWrite)
                || GrpcEndpoint.FromProto(broker.Endpoints, Options.AccessPoint.Tls) is not { } endpoint)
            {
                continue;
            }

            var committed = await CallAsync(
                endpoint,
                "GetOffset",
                (client, options) => client.GetOffsetAsync(new GetOffsetRequest { Group = connection.Resource(group), MessageQueue = queue }, options),
                r => (r.Status, r.Offset),
                cancellationToken).ConfigureAwait(false);
            if (committed.Unimplemented)
            {
                _unimplemented = "GetOffset";
                return Unknown(group, topic, "GetOffset");
            }

            if (committed.Status?.Code == Code.OffsetNotFound)
            {
                return new BacklogReport
                {
                    Remark = $"{Role}: group '{group}' has no committed offset on queue {broker.Name}/{queue.Id} of '{topic}' (it never consumed there); its lag is unknown.",
                };
            }

            GrpcErrors.ThrowIfNotOk(Role, committed.Status, $"GetOffset of {group}/{topic} queue {queue.Id}");
            var max = await CallAsync(
                endpoint,
                "QueryOffset",
                (client, options) => client.QueryOffsetAsync(new QueryOffsetRequest { MessageQueue = queue, QueryOffsetPolicy = QueryOffsetPolicy.End }, options),
                r => (r.Status, r.Offset),
                cancellationToken).ConfigureAwait(false);
            if (max.Unimplemented)
            {
                _unimplemented = "QueryOffset";
                return Unknown(group, topic, "QueryOffset");
            }

            GrpcErrors.ThrowIfNotOk(Role, max.Status, $"QueryOffset of {topic} queue {queue.Id}");
            queues.Add(new QueueBacklog(broker.Name, queue.Id, max.Offset, committed.Offset));
        }

        return new BacklogReport
        {
            Ready = queues.Sum(q => q.Lag),
            Queues = queues,
            Remark = $"{Role}: lag from GetOffset/QueryOffset; messages in flight, in the retry queue or delayed are not visible over the 5.x protocol, so {group}/{topic} is never reported drained from here.",
        };
    }

    private BacklogReport Unknown(string group, string topic, string method) => BacklogReport.Unknown(
        $"{Role}: this RocketMQ 5.x server does not implement {method} (Apache proxies do not), so the backlog of {group}/{topic} is unknown; check the console's consumer-group lag.");

    private Task<TopicRoute> QueryRouteAsync(string topic, CancellationToken cancellationToken) =>
        connection.QueryRouteAsync(_clientId, topic, cancellationToken);

    private async Task<(bool Unimplemented, Apache.Rocketmq.V2.Status? Status, long Offset)> CallAsync<TResponse>(
        GrpcEndpoint endpoint,
        string method,
        Func<MessagingService.MessagingServiceClient, CallOptions, AsyncUnaryCall<TResponse>> call,
        Func<TResponse, (Apache.Rocketmq.V2.Status? Status, long Offset)> read,
        CancellationToken cancellationToken)
    {
        try
        {
            var response = await call(connection.Client(endpoint), connection.CallOptions(_clientId, Options.RequestTimeout, cancellationToken)).ConfigureAwait(false);
            var (status, offset) = read(response);
            return (false, status, offset);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Unimplemented)
        {
            return (true, null, 0);
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw GrpcErrors.FromRpc(Role, ex, method, endpoint, Options.HasCredentials);
        }
    }
}
