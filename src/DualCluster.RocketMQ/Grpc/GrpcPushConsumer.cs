using DualCluster.Transport;
using Microsoft.Extensions.Logging;

namespace DualCluster.RocketMQ.Grpc;

/// <summary>
/// The SPI consumer of the gRPC transport. Each <see cref="StartAsync"/> starts a fresh <see cref="PushConsumerClient"/>
/// (own client id, Telemetry streams, schedules); <see cref="StopAsync"/> drains and ends it, so a consumer can be
/// stopped and started again. Thread-safe.
/// </summary>
internal sealed class GrpcPushConsumer : IClusterConsumer
{
    private readonly GrpcConnection _connection;
    private readonly ClusterMessageHandler _handler;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private PushConsumerClient? _running;
    private PushConsumerClient? _lastRun;
    private volatile bool _positionedBefore;
    private bool _disposed;

    public GrpcPushConsumer(GrpcConnection connection, ConsumerSubscription subscription, ClusterMessageHandler handler, ILogger logger)
    {
        _connection = connection;
        Subscription = subscription;
        _handler = handler;
        _logger = logger;
    }

    public ConsumerSubscription Subscription { get; }

    /// <summary>
    /// True once a run had queues assigned and its first receive on each was answered (<see cref="PushConsumerClient.IsPositioned"/>);
    /// stays true across stops and restarts.
    /// </summary>
    public bool IsPositioned => _positionedBefore || (Volatile.Read(ref _lastRun)?.IsPositioned ?? false);

    /// <summary>The client of the current run, or null while stopped (tests observe it).</summary>
    internal PushConsumerClient? Current => Volatile.Read(ref _running);

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_running is not null)
            {
                return;
            }

            var client = new PushConsumerClient(_connection, Subscription, _handler, _logger);
            try
            {
                await client.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await client.StopAsync(CancellationToken.None).ConfigureAwait(false);
                throw;
            }

            if (_lastRun?.IsPositioned == true)
            {
                _positionedBefore = true;
            }

            Volatile.Write(ref _lastRun, client);
            Volatile.Write(ref _running, client);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        // Not cancellable while waiting for the gate: a stop must always happen; the token bounds the drain.
        await _lifecycle.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            var client = _running;
            Volatile.Write(ref _running, null);
            if (client is not null)
            {
                await client.StopAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        PushConsumerClient? client;
        await _lifecycle.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            _disposed = true;
            client = _running;
            Volatile.Write(ref _running, null);
        }
        finally
        {
            _lifecycle.Release();
        }

        if (client is not null)
        {
            using var drain = new CancellationTokenSource(_connection.Options.ShutdownTimeout, _connection.Time);
            await client.StopAsync(drain.Token).ConfigureAwait(false);
        }
    }
}
