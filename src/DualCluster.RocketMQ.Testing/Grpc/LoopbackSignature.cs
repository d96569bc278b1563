using System.Security.Cryptography;
using System.Text;
using Grpc.Core;

namespace DualCluster.RocketMQ.Testing.Grpc;

/// <summary>
/// Verifies the <c>MQv2-HMAC-SHA1</c> authorization the way the Apache auth module does (fact sheet §3.1): split at
/// the first space, items on commas, each on its first '='; user = Credential up to '/'; the hex Signature must equal
/// HMAC-SHA1(secret, exact <c>x-mq-date-time</c> value). No clock-skew check (the proxy has none).
/// </summary>
internal static class LoopbackSignature
{
    /// <summary>
    /// How the Apache 5.0.0 proxy with <c>enableACL</c> ends a call it refuses (apache/rocketmq rocketmq-all-5.0.0,
    /// proxy/src/main/java/org/apache/rocketmq/proxy/grpc/interceptor/AuthenticationInterceptor.java and
    /// GlobalExceptionInterceptor.java; acl/src/main/java/org/apache/rocketmq/acl/plain/PlainAccessResource.java and
    /// acl/common/AuthorizationHeader.java). Any <c>AclException</c> (unknown access key, wrong signature, a missing
    /// permission) becomes <c>new StatusRuntimeException(Status.PERMISSION_DENIED, headers)</c>: no description, and the
    /// trailers are the request headers, <c>authorization</c> included, plus the <c>x-mq-rpc-name</c> the interceptor
    /// added. Without <c>authorization</c> (or <c>x-mq-date-time</c>) parsing dereferences null; the global interceptor
    /// answers any other exception with INTERNAL and the exception's message, null for a JDK 8 NullPointerException.
    /// </summary>
    public static RpcException Proxy500Refusal(Metadata headers, GrpcLoopbackRpc rpc)
    {
        if (string.IsNullOrEmpty(headers.GetValue("authorization")) || string.IsNullOrEmpty(headers.GetValue("x-mq-date-time")))
        {
            return new RpcException(new global::Grpc.Core.Status(StatusCode.Internal, string.Empty));
        }

        var trailers = new Metadata();
        foreach (var header in headers)
        {
            if (!header.IsBinary && !header.Key.StartsWith(':') && header.Key is not ("content-type" or "te" or "host") && !header.Key.StartsWith("grpc-", StringComparison.Ordinal))
            {
                trailers.Add(header.Key, header.Value);
            }
        }

        trailers.Add("x-mq-rpc-name", rpc == GrpcLoopbackRpc.Telemetry ? "apache.rocketmq.v2.TelemetryCommand" : $"apache.rocketmq.v2.{rpc}Request");
        return new RpcException(new global::Grpc.Core.Status(StatusCode.PermissionDenied, string.Empty), trailers);
    }

    /// <summary>Null when the call is authenticated, else why not (the UNAUTHORIZED message).</summary>
    public static string? Verify(string? authorization, string? dateTime, string accessKey, string secretKey)
    {
        if (string.IsNullOrEmpty(authorization))
        {
            return "no authorization header: username cannot be null";
        }

        if (string.IsNullOrEmpty(dateTime))
        {
            return "datetime is null";
        }

        var space = authorization.IndexOf(' ', StringComparison.Ordinal);
        if (space < 0)
        {
            return "authorization header is malformed";
        }

        string? credential = null;
        string? signature = null;
        foreach (var item in authorization[(space + 1)..].Split(','))
        {
            var trimmed = item.Trim();
            var equals = trimmed.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0)
            {
                return $"authorization item '{trimmed}' is malformed";
            }

            var key = trimmed[..equals];
            var value = trimmed[(equals + 1)..];
            if (key == "Credential")
            {
                credential = value;
            }
            else if (key == "Signature")
            {
                signature = value;
            }
        }

        if (credential is null || signature is null)
        {
            return "authorization header lacks Credential or Signature";
        }

        var slash = credential.IndexOf('/', StringComparison.Ordinal);
        var user = slash < 0 ? credential : credential[..slash];
        if (!string.Equals(user, accessKey, StringComparison.Ordinal))
        {
            return $"user {user} is not found";
        }

        byte[] given;
        try
        {
            given = Convert.FromHexString(signature);
        }
        catch (FormatException)
        {
            return "signature is not hexadecimal";
        }

#pragma warning disable CA5350 // MQv2-HMAC-SHA1 is the protocol's signature (fact sheet §3.1).
        var expected = HMACSHA1.HashData(Encoding.UTF8.GetBytes(secretKey), Encoding.UTF8.GetBytes(dateTime));
#pragma warning restore CA5350
        return CryptographicOperations.FixedTimeEquals(given, expected) ? null : "check signature failed";
    }
}
