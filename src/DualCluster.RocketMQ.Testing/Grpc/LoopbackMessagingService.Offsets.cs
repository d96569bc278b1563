using System.Globalization;
using Apache.Rocketmq.V2;
using Grpc.Core;
using WireStatus = Apache.Rocketmq.V2.Status;

namespace DualCluster.RocketMQ.Testing.Grpc;

/// <summary>
/// GetOffset and QueryOffset: defined by <c>MessagingService</c> but implemented by no Apache proxy (5.0.0 to 5.3.x
/// <c>GrpcMessagingApplication</c> does not override them, so they end with gRPC UNIMPLEMENTED). Answered from the
/// in-memory broker only with <see cref="GrpcLoopbackOptions.ServeGetOffset"/> / <see cref="GrpcLoopbackOptions.ServeQueryOffset"/>.
/// </summary>
internal sealed partial class LoopbackMessagingService
{
    public override async Task<GetOffsetResponse> GetOffset(GetOffsetRequest request, ServerCallContext context)
    {
        if (!_options.ServeGetOffset)
        {
            Interlocked.Increment(ref _calls[(int)GrpcLoopbackRpc.GetOffset]);
            throw Unimplemented("GetOffset");
        }

        return await UnaryAsync(GrpcLoopbackRpc.GetOffset, context, status => new GetOffsetResponse { Status = status }, _ =>
        {
            if (CheckGroupAndTopic(request.Group, request.MessageQueue?.Topic) is { } invalid)
            {
                return new GetOffsetResponse { Status = invalid };
            }

            if (CheckQueue(request.MessageQueue!) is { } missing)
            {
                return new GetOffsetResponse { Status = missing };
            }

            var offset = _broker.QueryOffset(request.Group!.Name, request.MessageQueue!.Topic.Name, request.MessageQueue.Id);
            return offset < 0
                ? new GetOffsetResponse { Status = LoopbackStatus.Of(Code.OffsetNotFound, $"group '{request.Group.Name}' has no offset on this queue") }
                : new GetOffsetResponse { Status = LoopbackStatus.Ok, Offset = offset };
        }).ConfigureAwait(false);
    }

    public override async Task<QueryOffsetResponse> QueryOffset(QueryOffsetRequest request, ServerCallContext context)
    {
        if (!_options.ServeQueryOffset)
        {
            Interlocked.Increment(ref _calls[(int)GrpcLoopbackRpc.QueryOffset]);
            throw Unimplemented("QueryOffset");
        }

        return await UnaryAsync(GrpcLoopbackRpc.QueryOffset, context, status => new QueryOffsetResponse { Status = status }, _ =>
        {
            var topic = request.MessageQueue?.Topic?.Name;
            if (!LoopbackMessages.IsValidName(topic, MaxTopicLength))
            {
                return new QueryOffsetResponse { Status = LoopbackStatus.Of(Code.IllegalTopic, $"topic '{topic}' is illegal") };
            }

            if (CheckQueue(request.MessageQueue!) is { } missing)
            {
                return new QueryOffsetResponse { Status = missing };
            }

            var queueId = request.MessageQueue!.Id;
            long offset;
            switch (request.QueryOffsetPolicy)
            {
                case QueryOffsetPolicy.Beginning:
                    offset = _broker.GetMinOffset(topic!, queueId);
                    break;
                case QueryOffsetPolicy.End:
                    offset = _broker.GetMaxOffset(topic!, queueId);
                    break;
                case QueryOffsetPolicy.Timestamp when request.Timestamp is { } at:
                    var max = _broker.GetMaxOffset(topic!, queueId);
                    offset = _broker.GetMinOffset(topic!, queueId);
                    while (offset < max && _broker.GetMessage(topic!, queueId, offset) is { } stored && stored.StoreTime < at.ToDateTimeOffset())
                    {
                        offset++;
                    }

                    break;
                default:
                    return new QueryOffsetResponse { Status = LoopbackStatus.Of(Code.BadRequest, "a TIMESTAMP query needs a timestamp") };
            }

            return new QueryOffsetResponse { Status = LoopbackStatus.Ok, Offset = offset };
        }).ConfigureAwait(false);
    }

    /// <summary>What gRPC answers for a method the service does not implement (the generated base class does the same).</summary>
    private static RpcException Unimplemented(string method) =>
        new(new global::Grpc.Core.Status(StatusCode.Unimplemented, $"Method apache.rocketmq.v2.MessagingService/{method} is unimplemented"));

    /// <summary>TOPIC_NOT_FOUND for an unknown topic, BAD_REQUEST for a queue id the topic does not have; null when both exist.</summary>
    private WireStatus? CheckQueue(MessageQueue queue)
    {
        var queues = _broker.GetQueueCount(queue.Topic.Name);
        if (queues == 0)
        {
            return LoopbackStatus.Of(Code.TopicNotFound, $"topic '{queue.Topic.Name}' does not exist");
        }

        return queue.Id >= 0 && queue.Id < queues
            ? null
            : LoopbackStatus.Of(Code.BadRequest, $"topic '{queue.Topic.Name}' has no queue {queue.Id.ToString(CultureInfo.InvariantCulture)}");
    }
}
