using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using DualCluster.RocketMQ.Remoting;

namespace DualCluster.RocketMQ.Testing.Remoting;

/// <summary>A TCP listener on 127.0.0.1 that serves remoting frames; can stop and restart on the same port.</summary>
internal sealed class LoopbackListener : IAsyncDisposable
{
    private readonly RemotingConnection.RequestHandler _handler;
    private readonly Action<RemotingConnection>? _closed;
    private readonly ConcurrentDictionary<RemotingConnection, byte> _connections = new();
    private Socket? _socket;
    private Task? _acceptLoop;

    public LoopbackListener(RemotingConnection.RequestHandler handler, Action<RemotingConnection>? closed = null)
    {
        _handler = handler;
        _closed = closed;
    }

    public int Port { get; private set; }

    public string Address => $"127.0.0.1:{Port}";

    /// <summary>Starts listening on <paramref name="port"/> (0 = a free port on the first start).</summary>
    public void Start(int port = 0)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, port == 0 ? Port : port));
        socket.Listen(512);
        Port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        _socket = socket;
        _acceptLoop = Task.Run(() => AcceptLoopAsync(socket));
    }

    /// <summary>Stops accepting and closes every connection (a broker crash, as clients see it).</summary>
    public async Task StopAsync()
    {
        var socket = Interlocked.Exchange(ref _socket, null);
        socket?.Dispose();
        if (_acceptLoop is not null)
        {
            await _acceptLoop.ConfigureAwait(false);
            _acceptLoop = null;
        }

        foreach (var connection in _connections.Keys)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    public void CloseConnections()
    {
        foreach (var connection in _connections.Keys)
        {
            connection.Close();
        }
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        while (true)
        {
            Socket accepted;
            try
            {
                accepted = await listener.AcceptAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                return;
            }

            var connection = RemotingConnection.Accept(accepted, _handler);
            _connections.TryAdd(connection, 0);
            _ = connection.Completion.ContinueWith(
                completed =>
                {
                    _connections.TryRemove(connection, out _);
                    _closed?.Invoke(connection);
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);
}
