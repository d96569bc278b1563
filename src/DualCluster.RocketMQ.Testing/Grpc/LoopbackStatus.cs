using Apache.Rocketmq.V2;
using DualCluster.Testing;
using WireStatus = Apache.Rocketmq.V2.Status;

namespace DualCluster.RocketMQ.Testing.Grpc;

/// <summary>In-band statuses (fact sheet §6.4): the code, and a message that is the code name when there is nothing better.</summary>
internal static class LoopbackStatus
{
    public static readonly WireStatus Ok = new() { Code = Code.Ok, Message = "OK" };

    public static WireStatus Of(Code code, string message) => new() { Code = code, Message = message };

    public static WireStatus Of(int code, string message) => new() { Code = (Code)code, Message = message };

    /// <summary>The aggregate of per-entry statuses: the single code when all agree, else MULTIPLE_RESULTS.</summary>
    public static WireStatus Aggregate(IReadOnlyList<WireStatus> entries)
    {
        if (entries.Count == 0)
        {
            return Ok;
        }

        var first = entries[0];
        for (var i = 1; i < entries.Count; i++)
        {
            if (entries[i].Code != first.Code)
            {
                return Of(Code.MultipleResults, "MULTIPLE_RESULTS");
            }
        }

        return first;
    }

    /// <summary>What a proxy answers when its broker refuses (§6.4): timeouts → PROXY_TIMEOUT, unavailable → INTERNAL_SERVER_ERROR, …</summary>
    public static WireStatus FromBroker(InMemoryBrokerException exception) => exception.StatusCode switch
    {
        BrokerStatusCodes.Timeout => Of(Code.ProxyTimeout, exception.Message),
        BrokerStatusCodes.TopicNotFound => Of(Code.TopicNotFound, exception.Message),
        BrokerStatusCodes.QueueNotFound => Of(Code.BadRequest, exception.Message),
        _ when exception.IsTransient => Of(Code.InternalServerError, exception.Message),
        _ => Of(Code.BadRequest, exception.Message),
    };
}
