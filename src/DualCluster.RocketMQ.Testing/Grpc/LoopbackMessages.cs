using System.Globalization;
using System.Security.Cryptography;
using Apache.Rocketmq.V2;
using DualCluster.Testing;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using TextEncoding = System.Text.Encoding;
using WireStatus = Apache.Rocketmq.V2.Status;

namespace DualCluster.RocketMQ.Testing.Grpc;

/// <summary>
/// Wire messages to and from the in-memory broker: the proxy's send validations (fact sheet §5.7) and the delivered
/// message with every field the official clients dereference (§6.2, §6.3).
/// </summary>
internal static class LoopbackMessages
{
    /// <summary>RocketMQ's name of the born-host property; kept with the stored message, stripped on delivery.</summary>
    public const string BornHostProperty = "__BORNHOST";

    /// <summary>RocketMQ's transaction-message flag; kept with the stored message, stripped on delivery.</summary>
    public const string TransactionProperty = "TRAN_MSG";

    /// <summary>Trace context of the message (SystemProperties.trace_context); stripped on delivery.</summary>
    public const string TraceContextProperty = "__DC_TRACE_CONTEXT";

    private const int MaxPropertyCount = 128;
    private const int MaxPropertiesSize = 16 * 1024;

    private static readonly HashSet<string> ReservedKeys = new(StringComparer.Ordinal)
    {
        "KEYS", "TAGS", "WAIT", "DELAY", "RETRY_TOPIC", "REAL_TOPIC", "REAL_QID", "TRAN_MSG", "PGROUP", "MIN_OFFSET",
        "MAX_OFFSET", "BUYER_ID", "ORIGIN_MESSAGE_ID", "TRANSFER_FLAG", "CORRECTION_FLAG", "MQ2_FLAG", "RECONSUME_TIME",
        "MSG_REGION", "TRACE_ON", "UNIQ_KEY", "EXTEND_UNIQ_INFO", "MAX_RECONSUME_TIMES", "CONSUME_START_TIME", "POP_CK",
        "POP_CK_OFFSET", "1ST_POP_TIME", "TRAN_PREPARED_QUEUE_OFFSET", "DUP_INFO", "INSTANCE_ID", "CORRELATION_ID",
        "REPLY_TO_CLIENT", "TTL", "ARRIVE_TIME", "PUSH_REPLY_TIME", "CLUSTER", "MSG_TYPE", "INNER_MULTI_QUEUE_OFFSET",
        "TIMER_DELAY_MS", "TIMER_DELAY_SEC", "TIMER_DELIVER_MS", "TIMER_ENQUEUE_MS", "TIMER_DEQUEUE_MS", "TIMER_ROLL_TIMES",
        "TIMER_OUT_MS", "TIMER_DEL_UNIQKEY", "TIMER_DELAY_LEVEL", "__BORNHOST", "BORN_TIMESTAMP", "DLQ_ORIGIN_TOPIC",
        "DLQ_ORIGIN_MESSAGE_ID", "__CRC32#",
    };

    private static readonly HashSet<string> HiddenProperties = new(StringComparer.Ordinal)
    {
        BornHostProperty, TransactionProperty, TraceContextProperty,
        BrokerProperties.RetryTopic, BrokerProperties.OriginMessageId, BrokerProperties.DeadLetterOriginTopic,
    };

    /// <summary>Topic and group names: letters, digits, <c>%</c>, <c>_</c>, <c>-</c> and the pipe; 1..<paramref name="maxLength"/> chars.</summary>
    public static bool IsValidName(string? name, int maxLength)
    {
        if (string.IsNullOrEmpty(name) || name.Length > maxLength)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '%' or '_' or '-' or '|'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The type the proxy checks a sent message as: TRANSACTION when it declares it, else DELAY when it has a delivery
    /// time, else FIFO when it has a message group, else NORMAL. The proxy turns those fields into properties
    /// (<c>SendMessageActivity.buildMessage</c>) and types the message from them (<c>TopicMessageType.parseFromMessageProperty</c>).
    /// </summary>
    public static MessageType TypeOf(Message message)
    {
        var system = message.SystemProperties;
        if (system is null)
        {
            return MessageType.Normal;
        }

        return system.MessageType == MessageType.Transaction ? MessageType.Transaction
            : system.DeliveryTimestamp is not null ? MessageType.Delay
            : system.HasMessageGroup ? MessageType.Fifo
            : MessageType.Normal;
    }

    public static bool Accepts(GrpcLoopbackTopicType topicType, MessageType type) => topicType switch
    {
        GrpcLoopbackTopicType.Mixed => type is MessageType.Normal or MessageType.Fifo or MessageType.Delay or MessageType.Transaction,
        GrpcLoopbackTopicType.Normal => type == MessageType.Normal,
        GrpcLoopbackTopicType.Fifo => type == MessageType.Fifo,
        GrpcLoopbackTopicType.Delay => type == MessageType.Delay,
        GrpcLoopbackTopicType.Transaction => type == MessageType.Transaction,
        _ => false,
    };

    public static IEnumerable<MessageType> AcceptedTypes(GrpcLoopbackTopicType topicType) => topicType switch
    {
        GrpcLoopbackTopicType.Normal => [MessageType.Normal],
        GrpcLoopbackTopicType.Fifo => [MessageType.Fifo],
        GrpcLoopbackTopicType.Delay => [MessageType.Delay],
        GrpcLoopbackTopicType.Transaction => [MessageType.Transaction],
        _ => [MessageType.Normal, MessageType.Fifo, MessageType.Delay, MessageType.Transaction],
    };

    /// <summary>Checks one message of a send as the proxy does; null when it passes, else the status to answer.</summary>
    public static WireStatus? Validate(Message message, GrpcLoopbackOptions options, GrpcLoopbackTopicType topicType, DateTimeOffset now)
    {
        var system = message.SystemProperties;
        if (system is null)
        {
            return LoopbackStatus.Of(Code.BadRequest, "system properties are missing");
        }

        if (message.Body.IsEmpty)
        {
            return LoopbackStatus.Of(Code.MessageBodyEmpty, "message body cannot be empty");
        }

        if (message.Body.Length > options.MaxBodySize)
        {
            return LoopbackStatus.Of(Code.MessageBodyTooLarge, $"message body cannot exceed the max {options.MaxBodySize.ToString(CultureInfo.InvariantCulture)}");
        }

        if (string.IsNullOrWhiteSpace(system.MessageId))
        {
            return LoopbackStatus.Of(Code.IllegalMessageId, "message id cannot be empty");
        }

        if (system.HasTag && (string.IsNullOrWhiteSpace(system.Tag) || system.Tag.Contains('|', StringComparison.Ordinal) || HasControl(system.Tag)))
        {
            return LoopbackStatus.Of(Code.IllegalMessageTag, $"tag '{system.Tag}' is illegal");
        }

        foreach (var key in system.Keys)
        {
            if (string.IsNullOrWhiteSpace(key) || HasControl(key))
            {
                return LoopbackStatus.Of(Code.IllegalMessageKey, $"key '{key}' is illegal");
            }
        }

        if (system.HasMessageGroup
            && (string.IsNullOrWhiteSpace(system.MessageGroup) || TextEncoding.UTF8.GetByteCount(system.MessageGroup) >= 64 || HasControl(system.MessageGroup)))
        {
            return LoopbackStatus.Of(Code.IllegalMessageGroup, $"message group '{system.MessageGroup}' is illegal");
        }

        if (message.UserProperties.Count > MaxPropertyCount)
        {
            return LoopbackStatus.Of(Code.MessagePropertiesTooLarge, $"too many user properties, max is {MaxPropertyCount.ToString(CultureInfo.InvariantCulture)}");
        }

        var size = (system.HasTag ? TextEncoding.UTF8.GetByteCount(system.Tag) : 0) + system.Keys.Sum(TextEncoding.UTF8.GetByteCount);
        foreach (var (key, value) in message.UserProperties)
        {
            if (ReservedKeys.Contains(key) || string.IsNullOrEmpty(key) || HasControl(key) || HasControl(value))
            {
                return LoopbackStatus.Of(Code.IllegalMessagePropertyKey, $"property '{key}' is reserved or illegal");
            }

            size += TextEncoding.UTF8.GetByteCount(key) + TextEncoding.UTF8.GetByteCount(value);
        }

        if (size > MaxPropertiesSize)
        {
            return LoopbackStatus.Of(Code.MessagePropertiesTooLarge, $"properties take {size.ToString(CultureInfo.InvariantCulture)} bytes, max is {MaxPropertiesSize.ToString(CultureInfo.InvariantCulture)}");
        }

        if (system.DeliveryTimestamp is { } delivery && delivery.ToDateTimeOffset() > now + options.MaxDelay)
        {
            return LoopbackStatus.Of(Code.IllegalDeliveryTime, "delivery time is too far in the future");
        }

        if (system.OrphanedTransactionRecoveryDuration is { } recovery && recovery.ToTimeSpan() > TimeSpan.FromHours(1))
        {
            return LoopbackStatus.Of(Code.BadRequest, "orphaned transaction recovery duration exceeds 1 h");
        }

        var type = TypeOf(message);
        if (!Accepts(topicType, type))
        {
            // Proxy DefaultTopicMessageTypeValidator's wording.
            return LoopbackStatus.Of(Code.MessagePropertyConflictWithType, $"TopicMessageType validate failed, the expected type is {topicType.ToString().ToUpperInvariant()}, but actual type is {type.ToString().ToUpperInvariant()}");
        }

        return null;
    }

    /// <summary>The message to store for a validated send.</summary>
    public static OutgoingMessage ToOutgoing(Message message)
    {
        var system = message.SystemProperties;
        var outgoing = new OutgoingMessage(message.Topic.Name, message.Body.Memory)
        {
            Tag = system.HasTag ? system.Tag : null,
            MessageGroup = system.HasMessageGroup ? system.MessageGroup : null,
            DeliveryTime = system.DeliveryTimestamp?.ToDateTimeOffset(),
        };
        foreach (var key in system.Keys)
        {
            outgoing.Keys.Add(key);
        }

        foreach (var (key, value) in message.UserProperties)
        {
            outgoing.Properties[key] = value;
        }

        if (!string.IsNullOrEmpty(system.BornHost))
        {
            outgoing.Properties[BornHostProperty] = system.BornHost;
        }

        if (system.HasTraceContext)
        {
            outgoing.Properties[TraceContextProperty] = system.TraceContext;
        }

        if (TypeOf(message) == MessageType.Transaction)
        {
            outgoing.Properties[TransactionProperty] = "true";
        }

        return outgoing;
    }

    /// <summary>
    /// A delivered message (§6.2 ReceiveMessage). Like the proxy's <c>GrpcConverter.buildMessage</c> it leaves
    /// <c>invisible_duration</c> unset: clients know the invisible time they asked for.
    /// </summary>
    public static Message ToWire(PopDelivery delivery, Resource topic, string storeHost, string receiptHandle)
    {
        var stored = delivery.Message;
        var properties = stored.Properties;
        var system = new SystemProperties
        {
            MessageId = stored.MessageId,
#pragma warning disable CA5351 // The protocol's body digest is MD5 (fact sheet §5.3), not a security measure.
            BodyDigest = new Digest { Type = DigestType.Md5, Checksum = Convert.ToHexString(MD5.HashData(stored.Body.Span)) },
#pragma warning restore CA5351
            BodyEncoding = Encoding.Identity,
            MessageType = properties.ContainsKey(TransactionProperty) ? MessageType.Transaction
                : stored.MessageGroup is not null ? MessageType.Fifo
                : stored.DeliveryTime is not null ? MessageType.Delay
                : MessageType.Normal,
            BornTimestamp = Timestamp.FromDateTimeOffset(stored.BornTime),
            BornHost = properties.TryGetValue(BornHostProperty, out var bornHost) ? bornHost : "",
            StoreTimestamp = Timestamp.FromDateTimeOffset(stored.StoreTime),
            StoreHost = storeHost,
            ReceiptHandle = receiptHandle,
            QueueId = stored.QueueId,
            QueueOffset = stored.QueueOffset,
            DeliveryAttempt = delivery.DeliveryAttempt,
        };
        if (stored.Tag is { } tag)
        {
            system.Tag = tag;
        }

        system.Keys.AddRange(stored.Keys);
        if (stored.MessageGroup is { } group)
        {
            system.MessageGroup = group;
        }

        if (stored.DeliveryTime is { } due)
        {
            system.DeliveryTimestamp = Timestamp.FromDateTimeOffset(due);
        }

        if (properties.TryGetValue(TraceContextProperty, out var trace))
        {
            system.TraceContext = trace;
        }

        if (properties.TryGetValue(BrokerProperties.DeadLetterOriginTopic, out var originTopic))
        {
            system.DeadLetterQueue = new DeadLetterQueue
            {
                Topic = originTopic,
                MessageId = properties.TryGetValue(BrokerProperties.OriginMessageId, out var originId) ? originId : stored.MessageId,
            };
        }

        var message = new Message
        {
            Topic = topic.Clone(),
            SystemProperties = system,
            Body = ByteString.CopyFrom(stored.Body.Span),
        };
        foreach (var (key, value) in properties)
        {
            if (!HiddenProperties.Contains(key))
            {
                message.UserProperties[key] = value;
            }
        }

        return message;
    }

    private static bool HasControl(string value)
    {
        foreach (var c in value)
        {
            if (char.IsControl(c))
            {
                return true;
            }
        }

        return false;
    }
}
