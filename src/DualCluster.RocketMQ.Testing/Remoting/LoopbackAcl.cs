using System.Text;
using DualCluster.RocketMQ.Remoting;

namespace DualCluster.RocketMQ.Testing.Remoting;

/// <summary>
/// ACL verification of the loopback broker (fact sheet §6.1), answering like Apache 4.9.8's plain ACL validator.
/// Only the broker checks: a 4.9.8 name server registers no ACL hook (namesrv/NamesrvController.java has none), so
/// routes are answered to anyone. The refusal is what NettyRemotingAbstract.processRequestCommand sends for any
/// exception a hook throws: SYSTEM_ERROR with <c>RemotingHelper.exceptionSimpleDesc(e)</c> as the remark, i.e.
/// <c>e.toString()</c> then <c>", "</c> and the first stack frame (apache/rocketmq rocketmq-all-4.9.8:
/// remoting/src/main/java/org/apache/rocketmq/remoting/netty/NettyRemotingAbstract.java, RemotingHelper.java;
/// the reasons and line numbers from acl/src/main/java/org/apache/rocketmq/acl/plain/PlainPermissionManager.java).
/// </summary>
internal static class LoopbackAcl
{
    public static RemotingCommand? Check(RemotingCommand request, RemotingLoopbackOptions options)
    {
        if (string.IsNullOrEmpty(options.AccessKey))
        {
            return null;
        }

        var accessKey = request.GetExt(AclSigner.AccessKeyField);
        if (accessKey is null)
        {
            return Deny(request, "No accessKey is configured", 664);
        }

        if (accessKey != options.AccessKey)
        {
            return Deny(request, $"No acl config for {accessKey}", 668);
        }

        if (!AclSigner.Verify(request, Encoding.UTF8.GetBytes(options.SecretKey ?? string.Empty)))
        {
            return Deny(request, $"Check signature failed for accessKey={accessKey}", 684);
        }

        foreach (var (topic, needed) in TopicPermissions(request))
        {
            if (!options.DefaultTopicPerm.Contains(needed, StringComparison.Ordinal))
            {
                return RemotingCommand.CreateResponse(
                    request,
                    ResponseCode.SystemError,
                    $"org.apache.rocketmq.acl.common.AclException: No default permission for topic:{topic}, org.apache.rocketmq.acl.plain.PlainPermissionManager.checkPerm(PlainPermissionManager.java:606)");
            }
        }

        return null;
    }

    /// <summary>
    /// The topic permissions a request needs, as PlainAccessValidator.parse (4.9.8) lists them; retry topics are group
    /// resources there and every account of the loopback may use every group.
    /// </summary>
    private static IEnumerable<(string Topic, string Perm)> TopicPermissions(RemotingCommand request)
    {
        switch (request.Code)
        {
            case RequestCode.SendMessageV2 when request.GetExt("b") is { } topic && !topic.StartsWith(MessageConst.RetryPrefix, StringComparison.Ordinal):
                yield return (topic, "PUB");
                break;
            case RequestCode.PullMessage or RequestCode.UpdateConsumerOffset when request.GetExt("topic") is { } topic:
                yield return (topic, "SUB");
                break;
            case RequestCode.HeartBeat when request.Body.Length > 0:
                using (var document = System.Text.Json.JsonDocument.Parse(request.Body))
                {
                    if (!document.RootElement.TryGetProperty("consumerDataSet", out var consumers))
                    {
                        break;
                    }

                    var topics = new List<string>();
                    foreach (var consumer in consumers.EnumerateArray())
                    {
                        if (consumer.TryGetProperty("subscriptionDataSet", out var subscriptions))
                        {
                            topics.AddRange(subscriptions.EnumerateArray()
                                .Select(s => s.GetProperty("topic").GetString()!)
                                .Where(t => !t.StartsWith(MessageConst.RetryPrefix, StringComparison.Ordinal)));
                        }
                    }

                    foreach (var topic in topics)
                    {
                        yield return (topic, "SUB");
                    }
                }

                break;
        }
    }

    private static RemotingCommand Deny(RemotingCommand request, string reason, int line) =>
        RemotingCommand.CreateResponse(
            request,
            ResponseCode.SystemError,
            string.Create(
                System.Globalization.CultureInfo.InvariantCulture,
                $"org.apache.rocketmq.acl.common.AclException: {reason}, org.apache.rocketmq.acl.plain.PlainPermissionManager.validate(PlainPermissionManager.java:{line})"));
}
