using Apache.Rocketmq.V2;

namespace DualCluster.RocketMQ.Grpc;

/// <summary>A topic's route from QueryRoute, with what the producer and heartbeats need derived once. Immutable.</summary>
internal sealed class TopicRoute
{
    public TopicRoute(string topic, IEnumerable<MessageQueue> queues, bool tls)
    {
        Topic = topic;
        Queues = [.. queues];
        var endpoints = new Dictionary<string, GrpcEndpoint>(StringComparer.Ordinal);
        var writable = new List<RoutedQueue>();
        foreach (var queue in Queues)
        {
            // Clients only use queues of master brokers (id 0) that have an address (§2.1 Broker).
            if (queue.Broker is not { Id: 0 } broker || GrpcEndpoint.FromProto(broker.Endpoints, tls) is not { } endpoint)
            {
                continue;
            }

            endpoint = endpoints.TryGetValue(endpoint.Key, out var known) ? known : endpoints[endpoint.Key] = endpoint;
            if (queue.Permission is Permission.Write or Permission.ReadWrite)
            {
                writable.Add(new RoutedQueue(queue, endpoint));
            }
        }

        Endpoints = [.. endpoints.Values];
        Writable = writable;
    }

    public string Topic { get; }

    public IReadOnlyList<MessageQueue> Queues { get; }

    /// <summary>Distinct broker endpoints of the route.</summary>
    public IReadOnlyList<GrpcEndpoint> Endpoints { get; }

    /// <summary>Writable queues of master brokers, in route order.</summary>
    public IReadOnlyList<RoutedQueue> Writable { get; }

    /// <summary>Whether the broker answered with the same queues.</summary>
    public bool SameAs(TopicRoute other) => Queues.SequenceEqual(other.Queues);
}

/// <summary>A queue and where to send to it.</summary>
internal sealed record RoutedQueue(MessageQueue Queue, GrpcEndpoint Endpoint);
