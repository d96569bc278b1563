using System.Text;
using DualCluster.RocketMQ.Remoting;

namespace DualCluster.RocketMQ.Testing.Remoting;

/// <summary>ACL verification of the loopback servers (fact sheet §6.1), answering like Apache's plain ACL validator.</summary>
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
            return Deny(request, "No accessKey is configured");
        }

        if (accessKey != options.AccessKey)
        {
            return Deny(request, $"No acl config for {accessKey}");
        }

        return AclSigner.Verify(request, Encoding.UTF8.GetBytes(options.SecretKey ?? string.Empty))
            ? null
            : Deny(request, $"Check signature failed for accessKey={accessKey}");
    }

    private static RemotingCommand Deny(RemotingCommand request, string reason) =>
        RemotingCommand.CreateResponse(request, ResponseCode.SystemError, $"org.apache.rocketmq.acl.common.AclException: {reason}");
}
