namespace DualCluster.RocketMQ.Remoting;

/// <summary>Maps remoting failures to the core's typed <see cref="Transport.ClusterTransportException"/>.</summary>
internal static class RemotingErrors
{
    public static Transport.ClusterTransportException FromResponse(ClusterRole role, RemotingCommand response, string what, string? missingTopic = null)
    {
        var code = response.Code;
        var hint = code switch
        {
            ResponseCode.TopicNotExist => " Create the topic on the cluster (TDMQ: in the console) or enable auto-create.",
            ResponseCode.SubscriptionGroupNotExist => " Create the consumer group on the cluster (TDMQ: in the console).",
            ResponseCode.NoPermission => " Grant the credentials permission on the topic/group.",
            ResponseCode.SystemError when response.Remark?.Contains("AclException", StringComparison.Ordinal) == true
                || response.Remark?.Contains("signature", StringComparison.OrdinalIgnoreCase) == true =>
                " Check AccessKey/SecretKey (TDMQ: AccessKey = role token, SecretKey = role name).",
            _ => string.Empty,
        };
        return new Transport.ClusterTransportException(
            role,
            code.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ResponseCode.IsTransient(code),
            $"{what} failed: {ResponseCode.Name(code)}" + (string.IsNullOrEmpty(response.Remark) ? "." : $": {response.Remark.Trim()}.") + hint)
        {
            MissingTopic = missingTopic,
        };
    }

    /// <summary>
    /// Whether the broker's ACL hook refused the request: Apache 4.x answers any exception of a hook with SYSTEM_ERROR
    /// and the exception's <c>toString()</c> as the remark (NettyRemotingAbstract.processRequestCommand), so an
    /// <c>AclException</c> is recognised by its class name. Repeating such a request never helps.
    /// </summary>
    public static bool IsAclRefusal(RemotingCommand response) =>
        response.Code == ResponseCode.SystemError && response.Remark?.Contains("AclException", StringComparison.Ordinal) == true;

    public static Transport.ClusterTransportException Unreachable(ClusterRole role, string address, string what, Exception inner) =>
        new(role, null, true, $"{what} could not reach {address}: {inner.Message}", inner);
}
