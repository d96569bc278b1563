using System.Text.Json;
using DualCluster.RocketMQ.Remoting;

namespace DualCluster.RocketMQ.Testing.Remoting;

/// <summary>
/// The loopback name server (fact sheet §7.2): routes every topic the broker holds to the one loopback broker.
/// Retry and dead-letter topics have a route only once the broker created them (see <see cref="RemotingLoopbackOptions.InventRetryRoutes"/>).
/// </summary>
internal sealed class LoopbackNameServer(IRemotingStore store, RemotingLoopbackOptions options, Func<string> brokerAddress, RemotingLoopbackFaults faults)
{
    public const int DefaultQueueCount = 4;

    public ValueTask<RemotingCommand?> HandleAsync(RemotingConnection connection, RemotingCommand request)
    {
        if (faults.TakeFailure(request.Code) is { } injected)
        {
            return Reply(RemotingCommand.CreateResponse(request, injected, "injected failure"));
        }

        switch (request.Code)
        {
            case RequestCode.GetRouteInfoByTopic:
                var topic = request.GetExt("topic");
                if (string.IsNullOrEmpty(topic))
                {
                    return Reply(RemotingCommand.CreateResponse(request, ResponseCode.SystemError, "the custom field <topic> is null"));
                }

                var queues = QueueCountFor(topic);
                if (queues == 0)
                {
                    return Reply(RemotingCommand.CreateResponse(request, ResponseCode.TopicNotExist, $"No topic route info in name server for the topic: {topic}"));
                }

                var response = RemotingCommand.CreateResponse(request, ResponseCode.Success);
                response.Body = RouteBody(queues);
                return Reply(response);
            case RequestCode.GetBrokerClusterInfo:
                var info = RemotingCommand.CreateResponse(request, ResponseCode.Success);
                info.Body = ClusterInfoBody();
                return Reply(info);
            default:
                return Reply(request.IsOneWay ? null : RemotingCommand.CreateResponse(request, ResponseCode.RequestCodeNotSupported, $" request type {request.Code} not supported"));
        }
    }

    private int QueueCountFor(string topic)
    {
        var count = store.GetQueueCount(topic);
        if (count > 0)
        {
            return count;
        }

        if (topic.StartsWith(MessageConst.RetryPrefix, StringComparison.Ordinal) || topic.StartsWith(MessageConst.DlqPrefix, StringComparison.Ordinal))
        {
            // A genuine name server knows a group's %RETRY% topic only after a broker created it — on the group's
            // first HEART_BEAT (ClientManageProcessor.heartBeat → TopicConfigManager.createTopicInSendMessageBackMethod)
            // or first CONSUMER_SEND_MSG_BACK — and registered it; %DLQ% only when a message is first dead-lettered
            // (SendMessageProcessor.asyncConsumerSendMsgBack / handleRetryAndDLQ). Until then: TOPIC_NOT_EXIST
            // (DefaultRequestProcessor.getRouteInfoByTopic). Never through auto-create: these are system topics.
            if (!options.InventRetryRoutes)
            {
                return 0;
            }

            store.EnsureTopic(topic, 1);
            return 1;
        }

        return topic == MessageConst.AutoCreateTopic || options.AutoCreateTopics ? DefaultQueueCount : 0;
    }

    private byte[] RouteBody(int queues)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("brokerDatas");
            WriteBrokerData(json);
            json.WriteEndArray();
            json.WriteStartObject("filterServerTable");
            json.WriteEndObject();
            json.WriteStartArray("queueDatas");
            json.WriteStartObject();
            json.WriteString("brokerName", options.BrokerName);
            json.WriteNumber("perm", 6);
            json.WriteNumber("readQueueNums", queues);
            json.WriteNumber("topicSysFlag", 0);
            json.WriteNumber("writeQueueNums", queues);
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private byte[] ClusterInfoBody()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("brokerAddrTable");
            json.WritePropertyName(options.BrokerName);
            WriteBrokerData(json);
            json.WriteEndObject();
            json.WriteStartObject("clusterAddrTable");
            json.WriteStartArray(options.ClusterName);
            json.WriteStringValue(options.BrokerName);
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private void WriteBrokerData(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteStartObject("brokerAddrs");
        json.WriteString("0", brokerAddress());
        json.WriteEndObject();
        json.WriteString("brokerName", options.BrokerName);
        json.WriteString("cluster", options.ClusterName);
        json.WriteEndObject();
    }

    private static ValueTask<RemotingCommand?> Reply(RemotingCommand? response) => ValueTask.FromResult(response);
}
