using Apache.Rocketmq.V2;
using DualCluster.RocketMQ.Grpc;
using DualCluster.Transport;
using Grpc.Core;
using RmqStatus = Apache.Rocketmq.V2.Status;

namespace DualCluster.RocketMQ.Tests.Grpc;

public sealed class ErrorMappingTests
{
    [Theory]
    [InlineData((int)Code.TooManyRequests)]
    [InlineData((int)Code.ProxyTimeout)]
    [InlineData((int)Code.RequestTimeout)]
    [InlineData((int)Code.InternalServerError)]
    [InlineData((int)Code.InternalError)]
    [InlineData((int)Code.HaNotAvailable)]
    [InlineData((int)Code.MasterPersistenceTimeout)]
    [InlineData((int)Code.SlavePersistenceTimeout)]
    [InlineData((int)Code.UnrecognizedClientType)]
    public void Throttling_timeouts_and_server_faults_are_transient(int code)
    {
        var ex = GrpcErrors.FromStatus(ClusterRole.New, new RmqStatus { Code = (Code)code, Message = "boom" }, "SendMessage");
        Assert.True(ex.IsTransient);
        Assert.Equal(ClusterRole.New, ex.Cluster);
    }

    [Theory]
    [InlineData((int)Code.BadRequest)]
    [InlineData((int)Code.IllegalTopic)]
    [InlineData((int)Code.IllegalMessageTag)]
    [InlineData((int)Code.Unauthorized)]
    [InlineData((int)Code.Forbidden)]
    [InlineData((int)Code.TopicNotFound)]
    [InlineData((int)Code.ConsumerGroupNotFound)]
    [InlineData((int)Code.MessageBodyTooLarge)]
    [InlineData((int)Code.MessagePropertyConflictWithType)]
    [InlineData((int)Code.InvalidReceiptHandle)]
    [InlineData((int)Code.Unsupported)]
    [InlineData((int)Code.NotImplemented)]
    [InlineData((int)Code.Unspecified)]
    public void Bad_requests_and_refusals_are_not_transient(int code) =>
        Assert.False(GrpcErrors.FromStatus(ClusterRole.Old, new RmqStatus { Code = (Code)code }, "SendMessage").IsTransient);

    [Fact]
    public void Status_code_is_the_protocol_name_and_the_message_says_what_to_do()
    {
        var ex = GrpcErrors.FromStatus(ClusterRole.New, new RmqStatus { Code = Code.Unauthorized, Message = "signature mismatch" }, "SendMessage");
        Assert.Equal("UNAUTHORIZED", ex.StatusCode);
        Assert.Contains("[New]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("signature mismatch", ex.Message, StringComparison.Ordinal);
        Assert.Contains("AccessKey/SecretKey", ex.Message, StringComparison.Ordinal);

        var topic = GrpcErrors.FromStatus(ClusterRole.New, new RmqStatus { Code = Code.TopicNotFound }, "QueryRoute");
        Assert.Equal("TOPIC_NOT_FOUND", topic.StatusCode);
        Assert.Contains("create the topic", topic.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_status_is_an_error_not_a_success()
    {
        var ex = Assert.Throws<ClusterTransportException>(() => GrpcErrors.ThrowIfNotOk(ClusterRole.New, null, "Heartbeat"));
        Assert.Equal("CODE_UNSPECIFIED", ex.StatusCode);
        GrpcErrors.ThrowIfNotOk(ClusterRole.New, new RmqStatus { Code = Code.Ok }, "Heartbeat");
        GrpcErrors.ThrowIfNotOk(ClusterRole.New, new RmqStatus { Code = Code.MultipleResults }, "Ack");
    }

    [Fact]
    public void Unknown_codes_from_newer_servers_keep_their_number()
    {
        var ex = GrpcErrors.FromStatus(ClusterRole.New, new RmqStatus { Code = (Code)49999 }, "SendMessage");
        Assert.Equal("49999", ex.StatusCode);
        Assert.False(ex.IsTransient);
    }

    [Theory]
    [InlineData(StatusCode.Unavailable, true, "GRPC_UNAVAILABLE")]
    [InlineData(StatusCode.DeadlineExceeded, true, "GRPC_DEADLINE_EXCEEDED")]
    [InlineData(StatusCode.ResourceExhausted, true, "GRPC_RESOURCE_EXHAUSTED")]
    [InlineData(StatusCode.Internal, true, "GRPC_INTERNAL")]
    [InlineData(StatusCode.Unimplemented, false, "GRPC_UNIMPLEMENTED")]
    [InlineData(StatusCode.PermissionDenied, false, "GRPC_PERMISSION_DENIED")]
    [InlineData(StatusCode.InvalidArgument, false, "GRPC_INVALID_ARGUMENT")]
    public void Transport_failures_map_to_gRPC_status_names(StatusCode code, bool transient, string name)
    {
        var endpoint = new GrpcEndpoint("127.0.0.1", 8081, Tls: false);
        var ex = GrpcErrors.FromRpc(ClusterRole.Old, new RpcException(new global::Grpc.Core.Status(code, "detail")), "SendMessage", endpoint);
        Assert.Equal(transient, ex.IsTransient);
        Assert.Equal(name, ex.StatusCode);
        Assert.Equal(ClusterRole.Old, ex.Cluster);
        Assert.Contains("127.0.0.1:8081", ex.Message, StringComparison.Ordinal);
        Assert.IsType<RpcException>(ex.InnerException);
    }
}
