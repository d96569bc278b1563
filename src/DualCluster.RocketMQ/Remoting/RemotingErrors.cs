namespace DualCluster.RocketMQ.Remoting;

/// <summary>Maps remoting failures to the core's typed <see cref="Transport.ClusterTransportException"/>.</summary>
internal static partial class RemotingErrors
{
    public static Transport.ClusterTransportException FromResponse(ClusterRole role, RemotingCommand response, string what, string? missingTopic = null)
    {
        var code = response.Code;
        var hint = code switch
        {
            ResponseCode.TopicNotExist => " Create the topic on the cluster (TDMQ: in the console) or enable auto-create.",
            ResponseCode.SubscriptionGroupNotExist => " Create the consumer group on the cluster (TDMQ: in the console).",
            ResponseCode.NoPermission => " Grant the credentials permission on the topic/group.",
            ResponseCode.SystemError when IsAclRefusal(response) => AclAdvice(role, response.Remark!),
            _ => string.Empty,
        };
        // 4.9.8 names the access key in its refusals ("No acl config for AK", "… for accessKey=AK"); with TDMQ the
        // AccessKey is the role token, a credential: keep it out of what the application logs.
        var remark = IsAclRefusal(response) ? AccessKeyInRemark().Replace(response.Remark!, "$1[removed]") : response.Remark;
        return new Transport.ClusterTransportException(
            role,
            code.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ResponseCode.IsTransient(code),
            $"{what} failed: {ResponseCode.Name(code)}" + (string.IsNullOrEmpty(remark) ? "." : $": {remark.Trim()}.") + hint)
        {
            MissingTopic = missingTopic,
        };
    }

    /// <summary>
    /// What to do about an ACL refusal. Apache 4.9.8 (acl/src/main/java/org/apache/rocketmq/acl/plain/PlainPermissionManager.java)
    /// tells a missing permission ("No default permission for topic:T" / "group:G", "No permission for …", "Need admin
    /// permission …") apart from keys it does not accept ("No acl config for AK", "Check signature failed …",
    /// "No accessKey is configured"): the keys are right in the first case, and checking them would be the wrong advice.
    /// </summary>
    private static string AclAdvice(ClusterRole role, string remark)
    {
        if (remark.Contains("permission for topic:", StringComparison.Ordinal))
        {
            return " The keys are valid but the account may not use this topic: grant it PUB (to send) or SUB (to consume) on the topic "
                + "(Apache: topicPerms or defaultTopicPerm in plain_acl.yml; TDMQ: the role's production/consumption permission).";
        }

        if (remark.Contains("permission for group:", StringComparison.Ordinal))
        {
            return " The keys are valid but the account may not use this consumer group: grant it SUB on the group "
                + "(Apache: groupPerms or defaultGroupPerm in plain_acl.yml; TDMQ: the role's consumption permission).";
        }

        if (remark.Contains("Need admin permission", StringComparison.Ordinal))
        {
            return " The keys are valid but this request needs an admin account (admin: true in plain_acl.yml).";
        }

        if (remark.Contains("No accessKey is configured", StringComparison.Ordinal))
        {
            return $" The broker requires signed requests: set DualCluster:Clusters:{role}:AccessKey and SecretKey (TDMQ: AccessKey = role token, SecretKey = role name).";
        }

        return $" The broker does not accept these keys: check DualCluster:Clusters:{role}:AccessKey and SecretKey (TDMQ: AccessKey = role token, SecretKey = role name).";
    }

    /// <summary>
    /// Whether the broker's ACL hook refused the request: Apache 4.x answers any exception of a hook with SYSTEM_ERROR
    /// and the exception's <c>toString()</c> as the remark (NettyRemotingAbstract.processRequestCommand), so an
    /// <c>AclException</c> is recognised by its class name. Repeating such a request never helps.
    /// </summary>
    public static bool IsAclRefusal(RemotingCommand response) =>
        response.Code == ResponseCode.SystemError && response.Remark?.Contains("AclException", StringComparison.Ordinal) == true;

    [System.Text.RegularExpressions.GeneratedRegex(@"(accessKey=|No acl config for |PlainAccessResource for accessKey=)[^\s,]+", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex AccessKeyInRemark();

    public static Transport.ClusterTransportException Unreachable(ClusterRole role, string address, string what, Exception inner) =>
        new(role, null, true, $"{what} could not reach {address}: {inner.Message}", inner);
}
