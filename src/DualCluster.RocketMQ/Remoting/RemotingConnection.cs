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
/// held PULL never blocks the next request. Writes are coalesced by one writer loop from a bounded outbox:
/// when it is full a request waits for room (up to its timeout), a response makes the read loop wait (TCP
/// backpressure on the peer), and a one-way frame is refused. Request timeouts run on the given
/// <see cref="TimeProvider"/>. Thread-safe.
/// </summary>
internal sealed class RemotingConnection : IAsyncDisposable
{
    /// <summary>Frames that may wait to be written on one connection (default of <see cref="ConnectAsync"/>).</summary>
    public const int DefaultOutboxCapacity = 4096;

    private const int ReadBufferSize = 64 * 1024;
    private const int MaxBatchBytes = 256 * 1024;
    private static readonly TimeSpan SweepPeriod = TimeSpan.FromMilliseconds(100);

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly RequestHandler? _handler;
    private readonly TimeProvider _time;
    private readonly int _outboxCapacity;
    private readonly Channel<RemotingCommand> _outbox;

    private readonly ConcurrentDictionary<int, PendingRequest> _pending = new();
    private ITimer? _sweeper;
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _readLoop;
    private Task? _writeLoop;
    private int _closeStarted;

    /// <summary>Handles a request the peer sent; returns the response, or null to send none.</summary>
    public delegate ValueTask<RemotingCommand?> RequestHandler(RemotingConnection connection, RemotingCommand request);

    private RemotingConnection(Socket socket, string address, RequestHandler? handler, TimeProvider? time, int outboxCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(outboxCapacity, 1);
        _time = time ?? TimeProvider.System;
        _outboxCapacity = outboxCapacity;
        _outbox = Channel.CreateBounded<RemotingCommand>(new BoundedChannelOptions(outboxCapacity)
        {
            SingleReader = true,
            AllowSynchronousContinuations = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
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

    /// <summary>Frames queued and not yet taken by the writer.</summary>
    internal int QueuedFrames => _outbox.Reader.Count;

    /// <summary>Connects to <paramref name="address"/> (<c>host:port</c>, DNS names allowed) and starts the loops.</summary>
    /// <param name="address">The peer.</param>
    /// <param name="handler">Handles requests the peer sends; null answers REQUEST_CODE_NOT_SUPPORTED.</param>
    /// <param name="timeout">How long the connect may take.</param>
    /// <param name="cancellationToken">Cancels the connect.</param>
    /// <param name="time">The clock of request timeouts; null for <see cref="TimeProvider.System"/>.</param>
    /// <param name="outboxCapacity">Frames that may wait to be written before senders wait.</param>
    /// <exception cref="IOException">The peer could not be reached.</exception>
    public static async Task<RemotingConnection> ConnectAsync(
        string address, RequestHandler? handler, TimeSpan timeout, CancellationToken cancellationToken, TimeProvider? time = null, int outboxCapacity = DefaultOutboxCapacity)
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

        var connection = new RemotingConnection(socket, address, handler, time, outboxCapacity);
        connection.Start();
        return connection;
    }

    /// <summary>Wraps an accepted server-side socket and starts the loops.</summary>
    public static RemotingConnection Accept(Socket socket, RequestHandler handler, TimeProvider? time = null)
    {
        var connection = new RemotingConnection(socket, socket.RemoteEndPoint?.ToString() ?? "?", handler, time, DefaultOutboxCapacity);
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
    /// <exception cref="TimeoutException">No response within <paramref name="timeout"/>, or the outbox stayed full that long.</exception>
    /// <exception cref="IOException">The connection closed before the response arrived.</exception>
    public Task<RemotingCommand> InvokeAsync(RemotingCommand request, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        // Timeouts are swept by one timer per connection (like the reference client's 1 s scan, but finer)
        // instead of a timer per request: cheaper on the hot path.
        var pending = new PendingRequest(request.Code, _time.GetTimestamp() + (long)(timeout.TotalSeconds * _time.TimestampFrequency), timeout);
        if (!_pending.TryAdd(request.Opaque, pending))
        {
            return Task.FromException<RemotingCommand>(new InvalidOperationException($"Opaque {request.Opaque} is already in flight on {Address}."));
        }

        if (!IsOpen)
        {
            _pending.TryRemove(request.Opaque, out _);
            return Task.FromException<RemotingCommand>(new IOException($"Connection to {Address} is closed."));
        }

        if (!_outbox.Writer.TryWrite(request))
        {
            // Outbox full: wait for room, but no longer than the request's own deadline (the sweeper ends it).
            return WriteWhenRoomAsync(request, pending, cancellationToken);
        }

        pending.Written = true;

        // Without a token the entry leaves the map when the response, the sweeper or Close completes it:
        // hand out the completion itself (no extra state machine on the hot path).
        return cancellationToken.CanBeCanceled ? WaitAsync(pending, request.Opaque, cancellationToken) : pending.Task;
    }

    private async Task<RemotingCommand> WriteWhenRoomAsync(RemotingCommand request, PendingRequest pending, CancellationToken cancellationToken)
    {
        using (var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closing.Token))
        {
            try
            {
                while (!pending.Task.IsCompleted)
                {
                    var room = _outbox.Writer.WaitToWriteAsync(stop.Token).AsTask();
                    if (await Task.WhenAny(room, pending.Task).ConfigureAwait(false) != room)
                    {
                        break; // Timed out (or closed) while waiting for room.
                    }

                    if (!await room.ConfigureAwait(false))
                    {
                        throw new IOException($"Connection to {Address} is closed.");
                    }

                    if (_outbox.Writer.TryWrite(request))
                    {
                        pending.Written = true;
                        break;
                    }
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new IOException($"Connection to {Address} is closed.");
            }
            catch
            {
                _pending.TryRemove(request.Opaque, out _);
                throw;
            }
            finally
            {
                await stop.CancelAsync().ConfigureAwait(false);
            }
        }

        return await WaitAsync(pending, request.Opaque, cancellationToken).ConfigureAwait(false);
    }

    private async Task<RemotingCommand> WaitAsync(PendingRequest pending, int opaque, CancellationToken cancellationToken)
    {
        try
        {
            return await pending.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _pending.TryRemove(opaque, out _);
        }
    }

    /// <summary>Sends <paramref name="request"/> as one-way (flag bit 1): the peer never answers.</summary>
    /// <exception cref="IOException">The connection is closed.</exception>
    public void InvokeOneWay(RemotingCommand request)
    {
        request.Flag |= RemotingCommand.OneWayFlag;
        Send(request);
    }

    /// <summary>Queues a frame for writing.</summary>
    /// <exception cref="IOException">The connection is closed, or its outbox is full (the peer does not read fast enough).</exception>
    public void Send(RemotingCommand command)
    {
        if (!IsOpen)
        {
            throw new IOException($"Connection to {Address} is closed.");
        }

        if (!_outbox.Writer.TryWrite(command))
        {
            throw new IOException($"The outbox of the connection to {Address} is full ({_outboxCapacity} frames waiting): the peer does not read fast enough; frame code {command.Code} not sent.");
        }
    }

    /// <summary>Queues a frame if the connection is open and its outbox has room; false otherwise.</summary>
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
        _sweeper = _time.CreateTimer(static state => ((RemotingConnection)state!).SweepTimeouts(), this, SweepPeriod, SweepPeriod);
        _readLoop = Task.Run(ReadLoopAsync);
        _writeLoop = Task.Run(WriteLoopAsync);
    }

    private void SweepTimeouts()
    {
        var now = _time.GetTimestamp();
        foreach (var (opaque, pending) in _pending)
        {
            if (now >= pending.Deadline && _pending.TryRemove(opaque, out _))
            {
                pending.TrySetException(pending.Written
                    ? new TimeoutException($"No response from {Address} to request code {pending.Code} within {pending.Timeout.TotalMilliseconds:0} ms.")
                    : new TimeoutException($"Request code {pending.Code} to {Address} was not sent within {pending.Timeout.TotalMilliseconds:0} ms: the connection's outbox stayed full ({_outboxCapacity} frames waiting), the peer does not read fast enough."));
            }
        }
    }

    /// <summary>A request waiting for its response.</summary>
    private sealed class PendingRequest(int code, long deadline, TimeSpan timeout) : TaskCompletionSource<RemotingCommand>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        private int _written;

        public int Code { get; } = code;

        /// <summary>Deadline as a <see cref="TimeProvider.GetTimestamp"/> value.</summary>
        public long Deadline { get; } = deadline;

        public TimeSpan Timeout { get; } = timeout;

        /// <summary>Whether the request made it into the outbox (else it timed out waiting for room).</summary>
        public bool Written
        {
            get => Volatile.Read(ref _written) != 0;
            set => Volatile.Write(ref _written, value ? 1 : 0);
        }
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

                    var command = RemotingCodec.DecodeCopyingBody(buffer.AsSpan(start + 4, length));
                    start += 4 + length;
                    var dispatched = Dispatch(command);
                    if (!dispatched.IsCompletedSuccessfully)
                    {
                        // Outbox full: stop reading until the response fits (backpressure on the peer).
                        await dispatched.ConfigureAwait(false);
                    }
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
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidDataException or ChannelClosedException)
        {
            failure = ex;
        }

        Close(failure);
    }

    private ValueTask Dispatch(RemotingCommand command)
    {
        if (command.IsResponse)
        {
            if (_pending.TryRemove(command.Opaque, out var completion))
            {
                completion.TrySetResult(command);
            }

            return ValueTask.CompletedTask;
        }

        if (_handler is null)
        {
            return command.IsOneWay ? ValueTask.CompletedTask : Reply(command, NotSupported(command));
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
            return Reply(command, pending.Result);
        }

        _ = ReplyLaterAsync(command, pending);
        return ValueTask.CompletedTask;
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

        try
        {
            await Reply(request, response).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
        {
            // The connection closed while the response waited for room: nobody to answer.
        }
    }

    /// <summary>Queues the response; when the outbox is full, waits for room until the connection closes.</summary>
    private ValueTask Reply(RemotingCommand request, RemotingCommand? response)
    {
        if (response is null || request.IsOneWay || !IsOpen)
        {
            return ValueTask.CompletedTask;
        }

        response.Opaque = request.Opaque;
        response.Flag |= RemotingCommand.ResponseFlag;
        return _outbox.Writer.TryWrite(response) ? ValueTask.CompletedTask : _outbox.Writer.WriteAsync(response, _closing.Token);
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
