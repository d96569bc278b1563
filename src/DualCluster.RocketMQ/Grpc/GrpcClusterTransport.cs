using DualCluster.Transport;
using Microsoft.Extensions.Logging;

namespace DualCluster.RocketMQ.Grpc;

/// <summary>
/// A cluster reached over the RocketMQ 5.x gRPC protocol (TDMQ for RocketMQ 5.x, Apache 5.x proxy).
/// One producer client per transport (started on first send), one consumer client per subscription; all share
/// the transport's channels. Thread-safe.
/// </summary>
internal sealed class GrpcClusterTransport : IClusterTransport
{
    private readonly GrpcConnection _connection;
    private readonly ILoggerFactory _loggers;
    private readonly Lazy<GrpcProducer> _producer;
    private readonly List<GrpcPushConsumer> _consumers = [];
    private bool _disposed;

    public GrpcClusterTransport(GrpcTransportOptions options, TimeProvider time, ILoggerFactory loggers)
    {
        _connection = new GrpcConnection(options, time);
        _loggers = loggers;
        _producer = new Lazy<GrpcProducer>(() => new GrpcProducer(_connection, loggers.CreateLogger("DualCluster.RocketMQ.Grpc.Producer")));
        BacklogProbe = new GrpcBacklogProbe(_connection);
        if (options.HasCredentials && !options.AccessPoint.Tls)
        {
            GrpcLog.CredentialsInPlaintext(loggers.CreateLogger("DualCluster.RocketMQ.Grpc"), options.Role, options.AccessPoint.Key);
        }
    }

    public ClusterRole Role => _connection.Role;

    public IClusterProducer Producer => GrpcProducer;

    public IBacklogProbe BacklogProbe { get; }

    internal GrpcProducer GrpcProducer
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _producer.Value;
        }
    }

    public IClusterConsumer CreateConsumer(ConsumerSubscription subscription, ClusterMessageHandler handler)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        ArgumentNullException.ThrowIfNull(handler);
        var consumer = new GrpcPushConsumer(_connection, subscription, handler, _loggers.CreateLogger("DualCluster.RocketMQ.Grpc.Consumer"));
        lock (_consumers)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _consumers.Add(consumer);
        }

        return consumer;
    }

    public async ValueTask DisposeAsync()
    {
        GrpcPushConsumer[] consumers;
        lock (_consumers)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            consumers = [.. _consumers];
        }

        await Task.WhenAll(consumers.Select(c => c.DisposeAsync().AsTask())).ConfigureAwait(false);
        if (_producer.IsValueCreated)
        {
            await _producer.Value.DisposeAsync().ConfigureAwait(false);
        }

        _connection.Dispose();
    }
}
