namespace DualCluster.RocketMQ.Remoting;

/// <summary>
/// Namespace prefixing of topics and groups (fact sheet §6.2): <c>ns%name</c>, retry/DLQ prefixes kept
/// outside (<c>%RETRY%ns%group</c>). TDMQ namespaces look like <c>rocketmq-xxx|ns1</c> (§6.3).
/// </summary>
internal sealed class ResourceNamespace
{
    private static readonly HashSet<string> SystemNames = new(StringComparer.Ordinal)
    {
        MessageConst.AutoCreateTopic, MessageConst.ScheduleTopic, "RMQ_SYS_TRANS_HALF_TOPIC", "RMQ_SYS_TRANS_OP_HALF_TOPIC",
        "TRANS_CHECK_MAX_TIME_TOPIC", "RMQ_SYS_TRACE_TOPIC", "OFFSET_MOVED_EVENT", "SELF_TEST_TOPIC", "BenchmarkTest",
        MessageConst.ClientInnerProducer, "DEFAULT_PRODUCER", "DEFAULT_CONSUMER", "TOOLS_CONSUMER",
    };

    public ResourceNamespace(string? name) => Name = string.IsNullOrWhiteSpace(name) ? null : name.Trim();

    /// <summary>The namespace, or null for none.</summary>
    public string? Name { get; }

    public static ResourceNamespace None { get; } = new(null);

    public string Wrap(string name)
    {
        if (Name is null || string.IsNullOrEmpty(name) || IsSystem(name))
        {
            return name;
        }

        var (prefix, bare) = SplitPrefix(name);
        var withNs = Name + "%";
        return bare.StartsWith(withNs, StringComparison.Ordinal) ? name : prefix + withNs + bare;
    }

    public string Unwrap(string name)
    {
        if (Name is null || string.IsNullOrEmpty(name))
        {
            return name;
        }

        var (prefix, bare) = SplitPrefix(name);
        var withNs = Name + "%";
        return bare.StartsWith(withNs, StringComparison.Ordinal) ? prefix + bare[withNs.Length..] : name;
    }

    private static bool IsSystem(string name) => SystemNames.Contains(name) || name.StartsWith("CID_RMQ_SYS_", StringComparison.Ordinal);

    private static (string Prefix, string Bare) SplitPrefix(string name)
    {
        if (name.StartsWith(MessageConst.RetryPrefix, StringComparison.Ordinal))
        {
            return (MessageConst.RetryPrefix, name[MessageConst.RetryPrefix.Length..]);
        }

        return name.StartsWith(MessageConst.DlqPrefix, StringComparison.Ordinal)
            ? (MessageConst.DlqPrefix, name[MessageConst.DlqPrefix.Length..])
            : (string.Empty, name);
    }
}
