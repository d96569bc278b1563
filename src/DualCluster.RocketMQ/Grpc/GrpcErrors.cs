using Apache.Rocketmq.V2;
using DualCluster.Transport;
using Google.Protobuf.Reflection;
using Grpc.Core;
using RmqStatus = Apache.Rocketmq.V2.Status;

namespace DualCluster.RocketMQ.Grpc;

/// <summary>
/// Maps in-band RocketMQ status codes (fact sheet §2.6, §6.4) and gRPC failures to <see cref="ClusterTransportException"/>.
/// </summary>
internal static partial class GrpcErrors
{
    private static readonly EnumDescriptor CodeDescriptor = DefinitionReflection.Descriptor.FindTypeByName<EnumDescriptor>("Code");

    /// <summary>Whether the code means success (OK, or MULTIPLE_RESULTS whose entries are checked one by one).</summary>
    public static bool IsOk(Code code) => code is Code.Ok or Code.MultipleResults;

    /// <summary>The protocol name of a code (<c>TOO_MANY_REQUESTS</c>), or its number when unknown.</summary>
    public static string Name(Code code) =>
        CodeDescriptor.FindValueByNumber((int)code)?.Name ?? ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Whether retrying the same request may succeed: throttling, timeouts and server-side faults.</summary>
    public static bool IsTransient(Code code) => code switch
    {
        Code.TooManyRequests or Code.RequestTimeout => true,
        Code.InternalError or Code.InternalServerError or Code.HaNotAvailable => true,
        Code.ProxyTimeout or Code.MasterPersistenceTimeout or Code.SlavePersistenceTimeout => true,
        // The proxy forgot this client (restart): a settings re-sync fixes it.
        Code.UnrecognizedClientType => true,
        _ => false,
    };

    /// <summary>Whether a gRPC failure is worth retrying.</summary>
    public static bool IsTransient(StatusCode code) => code is StatusCode.Unavailable or StatusCode.DeadlineExceeded
        or StatusCode.ResourceExhausted or StatusCode.Aborted or StatusCode.Internal or StatusCode.Unknown or StatusCode.Cancelled;

    /// <summary>The exception for a non-OK in-band status.</summary>
    /// <param name="role">The cluster.</param>
    /// <param name="status">The status the server answered.</param>
    /// <param name="operation">What was attempted, for the message.</param>
    /// <param name="topic">The topic the call named: reported as <see cref="ClusterTransportException.MissingTopic"/> on TOPIC_NOT_FOUND.</param>
    public static ClusterTransportException FromStatus(ClusterRole role, RmqStatus? status, string operation, string? topic = null)
    {
        var code = status?.Code ?? Code.Unspecified;
        var text = string.IsNullOrEmpty(status?.Message) ? Name(code) : status.Message;
        return new ClusterTransportException(role, Name(code), IsTransient(code), $"{operation} failed: {text}{Advice(code)}")
        {
            MissingTopic = code == Code.TopicNotFound ? topic : null,
        };
    }

    /// <summary>
    /// A copy of <paramref name="exception"/> safe to keep, rethrow or log: status code and a detail without credentials,
    /// and no trailers. The Apache 5.0.0 proxy answers an ACL refusal with the request's own headers as trailers,
    /// <c>authorization</c> (access key and a signature valid forever: the proxy signs only <c>x-mq-date-time</c> and never
    /// checks its age) included: <c>new StatusRuntimeException(Status.PERMISSION_DENIED, headers)</c> in
    /// apache/rocketmq rocketmq-all-5.0.0 proxy/src/main/java/org/apache/rocketmq/proxy/grpc/interceptor/AuthenticationInterceptor.java,
    /// passed through as is by GlobalExceptionInterceptor.java.
    /// </summary>
    public static RpcException Scrub(RpcException exception) =>
        new(new global::Grpc.Core.Status(
            exception.StatusCode,
            ScrubText(exception.Status.Detail),
            exception.Status.DebugException is RpcException ? null : exception.Status.DebugException));

    /// <summary><see cref="Scrub(RpcException)"/> for an <see cref="RpcException"/>, else <paramref name="exception"/> itself.</summary>
    public static Exception Scrub(Exception exception) => exception is RpcException rpc ? Scrub(rpc) : exception;

    /// <summary>Removes an <c>authorization</c> value, signatures and credentials from a server's text.</summary>
    internal static string ScrubText(string? text) =>
        string.IsNullOrEmpty(text) ? string.Empty : SecretsInText().Replace(text, "$1[removed]");

    [System.Text.RegularExpressions.GeneratedRegex(@"(MQv2-HMAC-SHA1\s*|Signature=|Credential=|SecretKey=|SecurityToken=|x-mq-session-token[:=]\s*)[^\s,;""']*", System.Text.RegularExpressions.RegexOptions.IgnoreCase | System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex SecretsInText();

    /// <summary>The exception for a transport-level failure; keeps a scrubbed copy of <paramref name="exception"/>, never its trailers.</summary>
    /// <param name="role">The cluster.</param>
    /// <param name="exception">What the gRPC call threw.</param>
    /// <param name="operation">What was attempted, for the message.</param>
    /// <param name="endpoint">The endpoint called.</param>
    /// <param name="hasCredentials">Whether the cluster has AccessKey/SecretKey: without them, an answer that means "sign your requests" is final.</param>
    public static ClusterTransportException FromRpc(ClusterRole role, RpcException exception, string operation, GrpcEndpoint endpoint, bool hasCredentials = true)
    {
        if (FindTlsFailure(exception) is { } tls)
        {
            // A certificate the client does not trust fails every retry the same way: not transient.
            return new(role, Name(exception.StatusCode), false,
                $"{operation} to {endpoint.Key} failed: the TLS handshake was refused ({tls.Message}). Trust the server's certificate authority, " +
                "or for a test cluster with a self-signed certificate set AllowInvalidCertificates to true; use http:// if the endpoint is plaintext.",
                Scrub(exception));
        }

        var scrubbed = Scrub(exception);
        if (!hasCredentials && AsksForCredentials(scrubbed.Status))
        {
            // Retrying cannot help: every attempt is unsigned. Said once per call, not once per retry.
            return new(role, Name(exception.StatusCode), false,
                $"{operation} to {endpoint.Key} was refused ({Name(exception.StatusCode)}) and this cluster has no credentials: the server requires signed requests. "
                + $"Set DualCluster:Clusters:{role}:AccessKey and SecretKey (TDMQ: the role's keys from the console; Apache: an account of the proxy's ACL).",
                scrubbed);
        }

        return new(role, Name(exception.StatusCode), IsTransient(exception.StatusCode),
            $"{operation} to {endpoint.Key} failed at the transport: {Name(exception.StatusCode)}"
            + (string.IsNullOrWhiteSpace(scrubbed.Status.Detail) ? " (no detail from the server)" : $", {scrubbed.Status.Detail}")
            + Advice(exception.StatusCode, endpoint), scrubbed);
    }

    /// <summary>
    /// Whether an answer to an unsigned call means "credentials required". UNAUTHENTICATED and PERMISSION_DENIED say so;
    /// the Apache 5.0.0 proxy with ACL answers INTERNAL, with no description on JDK 8 or a helpful NullPointerException
    /// message on later JDKs, because it parses the missing <c>authorization</c> header without a null check
    /// (rocketmq-all-5.0.0 acl/.../plain/PlainAccessResource.java parse → acl/.../common/AuthorizationHeader.java, turned
    /// into INTERNAL by proxy/.../grpc/interceptor/GlobalExceptionInterceptor.java). An INTERNAL that explains itself
    /// otherwise stays a transient server fault.
    /// </summary>
    private static bool AsksForCredentials(global::Grpc.Core.Status status) => status.StatusCode switch
    {
        StatusCode.Unauthenticated or StatusCode.PermissionDenied => true,
        StatusCode.Internal => string.IsNullOrWhiteSpace(status.Detail) || status.Detail.Contains("is null", StringComparison.Ordinal),
        _ => false,
    };

    private static System.Security.Authentication.AuthenticationException? FindTlsFailure(Exception exception)
    {
        var depth = 0;
        for (Exception? e = exception; e is not null && depth < 8; e = e.InnerException ?? (e as RpcException)?.Status.DebugException, depth++)
        {
            if (e is System.Security.Authentication.AuthenticationException tls)
            {
                return tls;
            }
        }

        return null;
    }

    /// <summary>The status-code string of a gRPC failure: <c>GRPC_</c> + the gRPC code name (<c>GRPC_DEADLINE_EXCEEDED</c>).</summary>
    public static string Name(StatusCode code) => code switch
    {
        StatusCode.OK => "GRPC_OK",
        StatusCode.Cancelled => "GRPC_CANCELLED",
        StatusCode.Unknown => "GRPC_UNKNOWN",
        StatusCode.InvalidArgument => "GRPC_INVALID_ARGUMENT",
        StatusCode.DeadlineExceeded => "GRPC_DEADLINE_EXCEEDED",
        StatusCode.NotFound => "GRPC_NOT_FOUND",
        StatusCode.AlreadyExists => "GRPC_ALREADY_EXISTS",
        StatusCode.PermissionDenied => "GRPC_PERMISSION_DENIED",
        StatusCode.ResourceExhausted => "GRPC_RESOURCE_EXHAUSTED",
        StatusCode.FailedPrecondition => "GRPC_FAILED_PRECONDITION",
        StatusCode.Aborted => "GRPC_ABORTED",
        StatusCode.OutOfRange => "GRPC_OUT_OF_RANGE",
        StatusCode.Unimplemented => "GRPC_UNIMPLEMENTED",
        StatusCode.Internal => "GRPC_INTERNAL",
        StatusCode.Unavailable => "GRPC_UNAVAILABLE",
        StatusCode.DataLoss => "GRPC_DATA_LOSS",
        StatusCode.Unauthenticated => "GRPC_UNAUTHENTICATED",
        _ => "GRPC_" + ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>Throws unless <paramref name="status"/> is OK.</summary>
    public static void ThrowIfNotOk(ClusterRole role, RmqStatus? status, string operation, string? topic = null)
    {
        if (status is null || !IsOk(status.Code))
        {
            throw FromStatus(role, status, operation, topic);
        }
    }

    private static string Advice(StatusCode code, GrpcEndpoint endpoint) => code switch
    {
        StatusCode.Unavailable when endpoint.Tls => "; check the endpoint is reachable and serves TLS (use http:// for a plaintext endpoint)",
        StatusCode.Unavailable => "; check the endpoint is reachable (use https:// if it only serves TLS)",
        StatusCode.Unimplemented => "; the endpoint does not serve this RocketMQ 5.x RPC (is it a 4.x name server? then use Protocol Remoting)",
        // Apache 5.0.0 with enableACL answers every AclException so, a wrong secret and a missing grant alike, with no description.
        StatusCode.PermissionDenied => "; the server refused these keys or their permission (an Apache 5.0.0 proxy answers both alike): check AccessKey/SecretKey "
            + "of this cluster first; if they are right, grant the account PUB on the topic to send, SUB on the topic and on the consumer group to consume "
            + "(5.0.0 also checks the consumer group among the topic permissions)",
        StatusCode.Unauthenticated => "; the server does not accept these keys: check AccessKey/SecretKey of this cluster (TDMQ: the role's keys from the console)",
        _ => "",
    };

    private static string Advice(Code code) => code switch
    {
        Code.Unauthorized => "; check AccessKey/SecretKey of this cluster",
        Code.Forbidden => "; grant the role production/consumption permission on this topic or group",
        Code.TopicNotFound => "; create the topic on this cluster first",
        Code.ConsumerGroupNotFound => "; create the consumer group on this cluster first",
        _ => "",
    };
}
