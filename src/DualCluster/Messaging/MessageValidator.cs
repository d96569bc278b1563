using System.Text;

namespace DualCluster;

/// <summary>
/// Client-side message checks shared by every transport, so bad input fails with an
/// <see cref="ArgumentException"/> before any I/O. Limits follow the RocketMQ 5.x proxy defaults
/// (grpc fact sheet §5.7), which are also within the 4.x broker limits.
/// </summary>
public static class MessageValidator
{
    /// <summary>Largest body accepted by default (4 MiB).</summary>
    public const int DefaultMaxBodySize = 4 * 1024 * 1024;

    /// <summary>Longest topic name.</summary>
    public const int MaxTopicLength = 127;

    /// <summary>Longest consumer group name.</summary>
    public const int MaxGroupLength = 120;

    /// <summary>Most user properties on one message.</summary>
    public const int MaxPropertyCount = 128;

    /// <summary>Largest total UTF-8 size of user properties, tag and keys.</summary>
    public const int MaxPropertiesSize = 16 * 1024;

    private static readonly HashSet<string> ReservedPropertyNames = new(StringComparer.Ordinal)
    {
        "KEYS", "TAGS", "WAIT", "DELAY", "RETRY_TOPIC", "REAL_TOPIC", "REAL_QID", "TRAN_MSG", "PGROUP",
        "MIN_OFFSET", "MAX_OFFSET", "BUYER_ID", "ORIGIN_MESSAGE_ID", "TRANSFER_FLAG", "CORRECTION_FLAG",
        "MQ2_FLAG", "RECONSUME_TIME", "MSG_REGION", "TRACE_ON", "UNIQ_KEY", "EXTEND_UNIQ_INFO",
        "MAX_RECONSUME_TIMES", "CONSUME_START_TIME", "POP_CK", "POP_CK_OFFSET", "1ST_POP_TIME",
        "TRAN_PREPARED_QUEUE_OFFSET", "DUP_INFO", "INSTANCE_ID", "CORRELATION_ID", "REPLY_TO_CLIENT", "TTL",
        "ARRIVE_TIME", "PUSH_REPLY_TIME", "CLUSTER", "MSG_TYPE", "INNER_MULTI_QUEUE_OFFSET", "TIMER_DELAY_MS",
        "TIMER_DELAY_SEC", "TIMER_DELIVER_MS", "TIMER_ENQUEUE_MS", "TIMER_DEQUEUE_MS", "TIMER_ROLL_TIMES",
        "TIMER_OUT_MS", "TIMER_DEL_UNIQKEY", "TIMER_DELAY_LEVEL", "__BORNHOST", "BORN_TIMESTAMP",
        "DLQ_ORIGIN_TOPIC", "DLQ_ORIGIN_MESSAGE_ID", "__CRC32#", "__STARTDELIVERTIME",
        "TRANSACTION_CHECK_TIMES", "CHECK_IMMUNITY_TIME_IN_SECONDS", "INNER_MULTI_DISPATCH",
    };

    /// <summary>Whether <paramref name="name"/> is a property name RocketMQ reserves for itself.</summary>
    public static bool IsReservedPropertyName(string name) => ReservedPropertyNames.Contains(name);

    /// <summary>Checks <paramref name="message"/> against the client-side limits.</summary>
    /// <param name="message">The message to check.</param>
    /// <param name="maxBodySize">The largest body the target cluster accepts.</param>
    /// <exception cref="ArgumentException">The message breaks a limit; the message says which and how to fix it.</exception>
    public static void Validate(OutgoingMessage message, int maxBodySize = DefaultMaxBodySize)
    {
        ArgumentNullException.ThrowIfNull(message);
        ValidateTopic(message.Topic);

        if (message.Body.IsEmpty)
        {
            throw new ArgumentException($"Message for topic '{message.Topic}' has an empty body; RocketMQ rejects empty bodies.", nameof(message));
        }

        if (message.Body.Length > maxBodySize)
        {
            throw new ArgumentException(
                $"Message body is {message.Body.Length} bytes, over the {maxBodySize}-byte limit; split the payload or store it elsewhere and send a reference.",
                nameof(message));
        }

        var size = 0;
        if (message.Tag is { } tag)
        {
            if (string.IsNullOrWhiteSpace(tag) || tag.Contains('|', StringComparison.Ordinal) || HasControlChar(tag))
            {
                throw new ArgumentException($"Tag '{tag}' is invalid: a tag must not be blank, contain '|' or control characters.", nameof(message));
            }

            size += Encoding.UTF8.GetByteCount(tag);
        }

        foreach (var key in message.KeysView)
        {
            if (string.IsNullOrWhiteSpace(key) || HasControlChar(key))
            {
                throw new ArgumentException("Message keys must not be blank or contain control characters.", nameof(message));
            }

            size += Encoding.UTF8.GetByteCount(key);
        }

        if (message.HasProperties)
        {
            if (message.Properties.Count > MaxPropertyCount)
            {
                throw new ArgumentException($"Message has {message.Properties.Count} properties; at most {MaxPropertyCount} are allowed.", nameof(message));
            }

            foreach (var (name, value) in message.Properties)
            {
                if (string.IsNullOrWhiteSpace(name) || HasControlChar(name))
                {
                    throw new ArgumentException("Property names must not be blank or contain control characters.", nameof(message));
                }

                if (IsReservedPropertyName(name) || name == MessageProperties.IdempotencyKey)
                {
                    throw new ArgumentException(
                        name == MessageProperties.IdempotencyKey
                            ? $"Set OutgoingMessage.IdempotencyKey instead of the '{name}' property."
                            : $"Property name '{name}' is reserved by RocketMQ; choose another name.",
                        nameof(message));
                }

                if (value is null || HasControlChar(value))
                {
                    throw new ArgumentException($"Property '{name}' has a null value or control characters.", nameof(message));
                }

                size += Encoding.UTF8.GetByteCount(name) + Encoding.UTF8.GetByteCount(value);
            }
        }

        if (size > MaxPropertiesSize)
        {
            throw new ArgumentException($"Properties, tag and keys take {size} bytes, over the {MaxPropertiesSize}-byte limit.", nameof(message));
        }

        if (message.IdempotencyKey is { } idempotencyKey && (idempotencyKey.Length == 0 || idempotencyKey.Length > 256 || HasControlChar(idempotencyKey)))
        {
            throw new ArgumentException("IdempotencyKey must be 1–256 characters without control characters.", nameof(message));
        }

        if (message.MessageGroup is { } group && (string.IsNullOrWhiteSpace(group) || HasControlChar(group)))
        {
            throw new ArgumentException("MessageGroup must not be blank or contain control characters.", nameof(message));
        }

        if (message.MessageGroup is not null && message.DeliveryTime is not null)
        {
            throw new ArgumentException("A message cannot have both a MessageGroup (FIFO) and a DeliveryTime (delay); RocketMQ treats them as exclusive.", nameof(message));
        }
    }

    /// <summary>Checks a topic name.</summary>
    /// <exception cref="ArgumentException">The name is empty, too long or has characters RocketMQ rejects.</exception>
    public static void ValidateTopic(string topic) => ValidateName(topic, MaxTopicLength, "Topic", nameof(topic));

    /// <summary>Checks a consumer group name.</summary>
    /// <exception cref="ArgumentException">The name is empty, too long or has characters RocketMQ rejects.</exception>
    public static void ValidateGroup(string group) => ValidateName(group, MaxGroupLength, "Consumer group", nameof(group));

    private static void ValidateName(string name, int maxLength, string what, string paramName)
    {
        if (string.IsNullOrEmpty(name))
        {
            throw new ArgumentException($"{what} name must not be empty.", paramName);
        }

        if (name.Length > maxLength)
        {
            throw new ArgumentException($"{what} name '{name}' is {name.Length} characters; at most {maxLength} are allowed.", paramName);
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '%' or '_' or '-' or '|'))
            {
                throw new ArgumentException($"{what} name '{name}' contains '{c}'; only letters, digits, '%', '_', '-' and '|' are allowed.", paramName);
            }
        }
    }

    private static bool HasControlChar(string s)
    {
        foreach (var c in s)
        {
            if (char.IsControl(c))
            {
                return true;
            }
        }

        return false;
    }
}
