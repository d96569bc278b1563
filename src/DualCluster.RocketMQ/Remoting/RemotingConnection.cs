using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace DualCluster.RocketMQ.Remoting;

/// <summary>
/// One multiplexed TCP connection speaking remoting frames, used by both the client and the loopback
/// broker. Requests are matched to responses by opaque — only for frames with the response bit set
/// (fact sheet §1.8) — and frames without it are handed to the request handler, concurrently, so a
/// held PULL never blocks the next request. Writes are coalesced by one writer loop. Thread-safe.
/// </summary>
internal sealed class RemotingConnection : IAsyncDisposable
{
    private const int ReadBufferSize = 64 * 1024;
    private const int MaxBatchBytes = 256 * 1024;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly RequestHandler? _handler;
    private readonly Channel<RemotingCommand> _outbox = Channel.CreateUnbounded<RemotingCommand>(
        new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = false });

    private readonly ConcurrentDictionary<int, PendingRequest> _pending = new();
    private Timer? _sweeper;
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _readLoop;
    private Task? _writeLoop;
    private int _closeStarted;

    /// <summary>Handles a request the peer sent; returns the response, or null to send none.</summary>
    public delegate ValueTask<RemotingCommand?> RequestHandler(RemotingConnection connection, RemotingCommand request);

    private RemotingConnection(Socket socket, string address, RequestHandler? handler)
    {
        _socket = socket;
        _socket.NoDelay = true;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _handler = handler;
        Address = address;
        RemoteEndPoint = socket.RemoteEndPoint as IPEndPoint;
        LocalEndPoint = socket.LocalEndPoint as IPEndPoint;
    }

    /// <summary>The <c>host:port</c> this connection was opened to (or the peer, on the server side).</summary>
    public string Address { get; }

    public IPEndPoint? RemoteEndPoint { get; }

    public IPEndPoint? LocalEndPoint { get; }

    /// <summary>Completes when the connection closed, for whatever reason.</summary>
    public Task Completion => _closed.Task;

    public bool IsOpen => Volatile.Read(ref _closeStarted) == 0;

    /// <summary>Cancelled when the connection closes (server side: abandons held requests).</summary>
    public CancellationToken ClosedToken => _closing.Token;

    /// <summary>Free slot for the owner (the loopback broker keeps the client's registration here).</summary>
    public object? State { get; set; }

    /// <summary>Connects to <paramref name="address"/> (<c>host:port</c>, DNS names allowed) and starts the loops.</summary>
    /// <exception cref="IOException">The peer could not be reached.</exception>
    public static async Task<RemotingConnection> ConnectAsync(string address, RequestHandler? handler, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var (host, port) = ParseAddress(address);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeoutSource.CancelAfter(timeout);
            await socket.ConnectAsync(host, port, timeoutSource.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new IOException($"Could not connect to {address}: {ex.Message}", ex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var connection = new RemotingConnection(socket, address, handler);
        connection.Start();
        return connection;
    }

    /// <summary>Wraps an accepted server-side socket and starts the loops.</summary>
    public static RemotingConnection Accept(Socket socket, RequestHandler handler)
    {
        var connection = new RemotingConnection(socket, socket.RemoteEndPoint?.ToString() ?? "?", handler);
        connection.Start();
        return connection;
    }

    public static (string Host, int Port) ParseAddress(string address)
    {
        var colon = address.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(address.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port)
            || port is <= 0 or > 65535)
        {
            throw new FormatException($"'{address}' is not a host:port address.");
        }

        return (address[..colon].Trim('[', ']'), port);
    }

    /// <summary>Sends <paramref name="request"/> and waits for its response.</summary>
    /// <exception cref="TimeoutException">No response within <paramref name="timeout"/>.</exception>
    /// <exception cref="IOException">The connection closed before the response arrived.</exception>
    public async Task<RemotingCommand> InvokeAsync(RemotingCommand request, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        // Timeouts are swept by one timer per connection (like the reference client's 1 s scan, but finer)
        // instead of a timer per request: cheaper on the hot path.
        var pending = new PendingRequest(request.Code, Environment.TickCount64 + (long)timeout.TotalMilliseconds, timeout);
        if (!_pending.TryAdd(request.Opaque, pending))
        {
            throw new InvalidOperationException($"Opaque {request.Opaque} is already in flight on {Address}.");
        }

        try
        {
            if (!IsOpen || !_outbox.Writer.TryWrite(request))
            {
                throw new IOException($"Connection to {Address} is closed.");
            }

            return cancellationToken.CanBeCanceled
                ? await pending.Task.WaitAsync(cancellationToken).ConfigureAwait(false)
                : await pending.Task.ConfigureAwait(false);
        }
        finally
        {
            _pending.TryRemove(request.Opaque, out _);
        }
    }

    /// <summary>Sends <paramref name="request"/> as one-way (flag bit 1): the peer never answers.</summary>
    /// <exception cref="IOException">The connection is closed.</exception>
    public void InvokeOneWay(RemotingCommand request)
    {
        request.Flag |= RemotingCommand.OneWayFlag;
        Send(request);
    }

    /// <summary>Queues a frame (typically a response) for writing.</summary>
    /// <exception cref="IOException">The connection is closed.</exception>
    public void Send(RemotingCommand command)
    {
        if (!IsOpen || !_outbox.Writer.TryWrite(command))
        {
            throw new IOException($"Connection to {Address} is closed.");
        }
    }

    /// <summary>Queues a frame if the connection is still open; false otherwise.</summary>
    public bool TrySend(RemotingCommand command) => IsOpen && _outbox.Writer.TryWrite(command);

    /// <summary>Closes the connection; pending requests fail with <see cref="IOException"/>.</summary>
    public void Close(Exception? reason = null)
    {
        if (Interlocked.Exchange(ref _closeStarted, 1) != 0)
        {
            return;
        }

        _outbox.Writer.TryComplete();
        _closing.Cancel();
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }

        _stream.Dispose();
        _sweeper?.Dispose();
        var failure = new IOException($"Connection to {Address} closed" + (reason is null ? "." : $": {reason.Message}"), reason);
        foreach (var pending in _pending)
        {
            pending.Value.TrySetException(failure);
        }

        _closed.TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        Close();
        if (_readLoop is not null)
        {
            await _readLoop.ConfigureAwait(false);
        }

        if (_writeLoop is not null)
        {
            await _writeLoop.ConfigureAwait(false);
        }

        _closing.Dispose();
    }

    private void Start()
    {
        _sweeper = new Timer(static state => ((RemotingConnection)state!).SweepTimeouts(), this, 100, 100);
        _readLoop = Task.Run(ReadLoopAsync);
        _writeLoop = Task.Run(WriteLoopAsync);
    }

    private void SweepTimeouts()
    {
        var now = Environment.TickCount64;
        foreach (var (opaque, pending) in _pending)
        {
            if (now >= pending.Deadline && _pending.TryRemove(opaque, out _))
            {
                pending.TrySetException(new TimeoutException($"No response from {Address} to request code {pending.Code} within {pending.Timeout.TotalMilliseconds:0} ms."));
            }
        }
    }

    /// <summary>A request waiting for its response.</summary>
    private sealed class PendingRequest(int code, long deadline, TimeSpan timeout) : TaskCompletionSource<RemotingCommand>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public int Code { get; } = code;

        public long Deadline { get; } = deadline;

        public TimeSpan Timeout { get; } = timeout;
    }

    private async Task ReadLoopAsync()
    {
        Exception? failure = null;
        try
        {
            var buffer = new byte[ReadBufferSize];
            int start = 0, end = 0;
            var token = _closing.Token;
            while (true)
            {
                // Decode every complete frame in the buffer.
                while (end - start >= 4)
                {
                    var length = BinaryPrimitives.ReadInt32BigEndian(buffer.AsSpan(start));
                    if (length is < 4 or > RemotingCodec.MaxFrameLength)
                    {
                        throw new InvalidDataException($"Frame length {length} from {Address} is outside 4..{RemotingCodec.MaxFrameLength}; closing.");
                    }

                    if (end - start - 4 < length)
                    {
                        if (4 + length > buffer.Length)
                        {
                            var bigger = new byte[Math.Max(4 + length, buffer.Length * 2)];
                            buffer.AsSpan(start, end - start).CopyTo(bigger);
                            end -= start;
                            start = 0;
                            buffer = bigger;
                        }

                        break;
                    }

                    var frame = buffer.AsSpan(start + 4, length).ToArray();
                    start += 4 + length;
                    Dispatch(RemotingCodec.Decode(frame));
                }

                if (start == end)
                {
                    start = end = 0;
                    if (buffer.Length > ReadBufferSize)
                    {
                        buffer = new byte[ReadBufferSize];
                    }
                }
                else if (buffer.Length - end < 1024)
                {
                    buffer.AsSpan(start, end - start).CopyTo(buffer);
                    end -= start;
                    start = 0;
                }

                var read = await _stream.ReadAsync(buffer.AsMemory(end), token).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                end += read;
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidDataException)
        {
            failure = ex;
        }

        Close(failure);
    }

    private void Dispatch(RemotingCommand command)
    {
        if (command.IsResponse)
        {
            if (_pending.TryRemove(command.Opaque, out var completion))
            {
                completion.TrySetResult(command);
            }


            return;
        }

        if (_handler is null)
        {
            if (!command.IsOneWay)
            {
                TrySend(NotSupported(command));
            }

            return;
        }

        ValueTask<RemotingCommand?> pending;
        try
        {
            pending = _handler(this, command);
        }
        catch (Exception ex)
        {
            pending = ValueTask.FromException<RemotingCommand?>(ex);
        }

        if (pending.IsCompletedSuccessfully)
        {
            Reply(command, pending.Result);
        }
        else
        {
            _ = ReplyLaterAsync(command, pending);
        }
    }

    private async Task ReplyLaterAsync(RemotingCommand request, ValueTask<RemotingCommand?> pending)
    {
        RemotingCommand? response;
        try
        {
            response = await pending.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            response = RemotingCommand.CreateResponse(request, ResponseCode.SystemError, ex.Message);
        }

        Reply(request, response);
    }

    private void Reply(RemotingCommand request, RemotingCommand? response)
    {
        if (response is not null && !request.IsOneWay)
        {
            response.Opaque = request.Opaque;
            response.Flag |= RemotingCommand.ResponseFlag;
            TrySend(response);
        }
    }

    private static RemotingCommand NotSupported(RemotingCommand request) =>
        RemotingCommand.CreateResponse(request, ResponseCode.RequestCodeNotSupported, $" request type {request.Code} not supported");

    private async Task WriteLoopAsync()
    {
        using var buffer = new FrameBuffer(16 * 1024);
        var reader = _outbox.Reader;
        var token = _closing.Token;
        try
        {
            while (await reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                while (buffer.WrittenCount < MaxBatchBytes && reader.TryRead(out var command))
                {
                    RemotingCodec.Encode(command, buffer);
                }

                await _stream.WriteAsync(buffer.WrittenMemory, token).ConfigureAwait(false);
                buffer.Clear();
                buffer.Trim();
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            Close(ex);
        }
    }
}
