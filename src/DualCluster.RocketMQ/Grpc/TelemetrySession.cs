using Apache.Rocketmq.V2;
using DualCluster.Transport;
using Grpc.Core;

namespace DualCluster.RocketMQ.Grpc;

/// <summary>
/// The long-lived Telemetry stream of one client to one broker endpoint (fact sheet §4.2, §4.7): Settings are the
/// first write, the server's merged settings are applied as they arrive, and a broken stream is reopened after
/// <see cref="GrpcTransportOptions.TelemetryReconnectDelay"/> with the settings re-sent (the official C# client never
/// reopens it; without it the proxy forgets the client).
/// </summary>
internal sealed class TelemetrySession : IAsyncDisposable
{
    private readonly GrpcClient _owner;
    private readonly CancellationTokenSource _cts = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly TaskCompletionSource<TelemetryCommand> _firstReply = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private AsyncDuplexStreamingCall<TelemetryCommand, TelemetryCommand>? _call;
    private Task? _loop;
    private int _connections;
    private volatile bool _closing;

    public TelemetrySession(GrpcClient owner, GrpcEndpoint endpoint)
    {
        _owner = owner;
        Endpoint = endpoint;
    }

    public GrpcEndpoint Endpoint { get; }

    /// <summary>How many times the stream was opened (1 + reconnects).</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>
    /// Opens the stream, sends the settings and waits up to request timeout + 3 s for the server's answer (§4.2 step 3).
    /// A missing answer is tolerated; a refusal (e.g. UNAUTHORIZED) throws.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(RunAsync, CancellationToken.None);
        var timeout = _owner.Options.RequestTimeout + TimeSpan.FromSeconds(3);
        TelemetryCommand reply;
        try
        {
            reply = await _firstReply.Task.WaitAsync(timeout, _owner.Connection.Time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            GrpcLog.SettingsReplyTimeout(_owner.Logger, _owner.Role, Endpoint.Key, timeout);
            return;
        }

        if (reply.Status is { } status && !GrpcErrors.IsOk(status.Code))
        {
            throw GrpcErrors.FromStatus(_owner.Role, status, $"Telemetry to {Endpoint.Key}");
        }
    }

    /// <summary>Re-sends the current settings on the open stream (no-op while reconnecting: the reconnect sends them).</summary>
    public async Task SyncSettingsAsync()
    {
        if (Volatile.Read(ref _call) is not { } call)
        {
            return;
        }

        try
        {
            await WriteAsync(call, new TelemetryCommand { Settings = _owner.CreateSettings() }).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RpcException or InvalidOperationException or ObjectDisposedException or OperationCanceledException)
        {
            // The read loop sees the broken stream and reconnects.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_cts.IsCancellationRequested)
        {
            return;
        }

        // The read loop must not take the server's end of stream for a failure and reconnect.
        _closing = true;
        if (Volatile.Read(ref _call) is { } call)
        {
            var locked = false;
            try
            {
                locked = await _writeLock.WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
                await call.RequestStream.CompleteAsync().WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RpcException or InvalidOperationException or ObjectDisposedException or TimeoutException or OperationCanceledException)
            {
                // Closing anyway.
            }
            finally
            {
                if (locked)
                {
                    _writeLock.Release();
                }
            }
        }

        await _cts.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        _firstReply.TrySetCanceled();
        _cts.Dispose();
    }

    private async Task RunAsync()
    {
        var token = _cts.Token;
        while (!token.IsCancellationRequested)
        {
            Exception? failure = null;
            try
            {
                var client = _owner.Connection.Client(Endpoint);
                // A long-lived stream: no deadline (§4.1 uses ~10 years).
                using var call = client.Telemetry(_owner.Connection.CallOptions(_owner.ClientId, null, token));
                var n = Interlocked.Increment(ref _connections);
                await WriteAsync(call, new TelemetryCommand { Settings = _owner.CreateSettings() }).ConfigureAwait(false);
                Volatile.Write(ref _call, call);
                GrpcLog.TelemetryOpened(_owner.Logger, _owner.Role, Endpoint.Key, _owner.ClientId, n);
                while (await call.ResponseStream.MoveNext(token).ConfigureAwait(false))
                {
                    await HandleAsync(call, call.ResponseStream.Current).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when ((token.IsCancellationRequested || _closing) && ex is OperationCanceledException or RpcException)
            {
                break;
            }
            catch (Exception ex)
            {
                // Any failure (transport, protocol, a bad settings reply) breaks this stream only: reopen it.
                failure = GrpcErrors.Scrub(ex);
                _firstReply.TrySetException(ex is RpcException rpc
                    ? GrpcErrors.FromRpc(_owner.Role, rpc, "Telemetry", Endpoint, _owner.Options.HasCredentials)
                    : new ClusterTransportException(_owner.Role, null, true, $"Telemetry to {Endpoint.Key} failed: {ex.Message}", ex));
            }
            finally
            {
                Volatile.Write(ref _call, null);
            }

            if (token.IsCancellationRequested || _closing)
            {
                break;
            }

            GrpcLog.TelemetryBroken(_owner.Logger, failure, _owner.Role, Endpoint.Key, _owner.ClientId);
            _owner.OnTelemetryBroken(this);
            try
            {
                await Task.Delay(_owner.Options.TelemetryReconnectDelay, _owner.Connection.Time, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private async Task HandleAsync(AsyncDuplexStreamingCall<TelemetryCommand, TelemetryCommand> call, TelemetryCommand command)
    {
        switch (command.CommandCase)
        {
            case TelemetryCommand.CommandOneofCase.Settings:
                if (command.Status is null || GrpcErrors.IsOk(command.Status.Code))
                {
                    _owner.ApplyServerSettings(command.Settings);
                }

                _firstReply.TrySetResult(command);
                _owner.OnSettingsAcknowledged(this);
                break;
            case TelemetryCommand.CommandOneofCase.None:
                if (command.Status is { } status && !GrpcErrors.IsOk(status.Code))
                {
                    GrpcLog.TelemetryStatus(_owner.Logger, _owner.Role, Endpoint.Key, $"{GrpcErrors.Name(status.Code)} {status.Message}");
                }

                _firstReply.TrySetResult(command);
                break;
            case TelemetryCommand.CommandOneofCase.PrintThreadStackTraceCommand:
                await WriteAsync(call, new TelemetryCommand
                {
                    Status = new Apache.Rocketmq.V2.Status { Code = Code.Unsupported, Message = "not supported by DualCluster" },
                    ThreadStackTrace = new ThreadStackTrace { Nonce = command.PrintThreadStackTraceCommand.Nonce },
                }).ConfigureAwait(false);
                break;
            case TelemetryCommand.CommandOneofCase.VerifyMessageCommand:
                await WriteAsync(call, new TelemetryCommand
                {
                    Status = new Apache.Rocketmq.V2.Status { Code = Code.Unsupported, Message = "not supported by DualCluster" },
                    VerifyMessageResult = new VerifyMessageResult { Nonce = command.VerifyMessageCommand.Nonce },
                }).ConfigureAwait(false);
                break;
            default:
                // §9.14: ignore commands this client does not know or use (transactions, lite, reconnect hints).
                break;
        }
    }

    private async Task WriteAsync(AsyncDuplexStreamingCall<TelemetryCommand, TelemetryCommand> call, TelemetryCommand command)
    {
        await _writeLock.WaitAsync(_cts.Token).ConfigureAwait(false);
        try
        {
            await call.RequestStream.WriteAsync(command, _cts.Token).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }
}
