using System.Collections.Concurrent;
using Apache.Rocketmq.V2;

namespace DualCluster.RocketMQ.Testing.Grpc;

/// <summary>
/// What the loopback broker knows per client id (fact sheet §6.2): the settings from Telemetry (without them a client
/// is unrecognized) and the open Telemetry streams, which fault injection can kill. Thread-safe.
/// </summary>
internal sealed class LoopbackClients
{
    private readonly ConcurrentDictionary<string, Settings> _settings = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, TelemetryStream> _streams = new();
    private readonly object _signalGate = new();
    private TaskCompletionSource _changed = NewSignal();
    private long _nextStream;

    public int TelemetryStreamCount => _streams.Count;

    public Settings? GetSettings(string clientId) => _settings.TryGetValue(clientId, out var settings) ? settings : null;

    public void SetSettings(string clientId, Settings settings)
    {
        _settings[clientId] = settings;
        Signal();
    }

    public bool Forget(string clientId)
    {
        var removed = _settings.TryRemove(clientId, out _);
        Signal();
        return removed;
    }

    public void ForgetAll()
    {
        _settings.Clear();
        Signal();
    }

    public IReadOnlyList<string> ClientIds(string? group)
    {
        var ids = new List<string>();
        foreach (var (id, settings) in _settings)
        {
            if (group is null || (settings.Subscription?.Group?.Name is { } name && name == group))
            {
                ids.Add(id);
            }
        }

        ids.Sort(StringComparer.Ordinal);
        return ids;
    }

    public TelemetryStream OpenStream(string clientId, CancellationToken stopping)
    {
        var stream = new TelemetryStream(Interlocked.Increment(ref _nextStream), clientId, stopping);
        _streams[stream.Id] = stream;
        Signal();
        return stream;
    }

    public void CloseStream(TelemetryStream stream)
    {
        if (_streams.TryRemove(stream.Id, out _))
        {
            stream.Dispose();
            Signal();
        }
    }

    public int KillStreams()
    {
        var killed = 0;
        foreach (var stream in _streams.Values)
        {
            if (stream.Kill())
            {
                killed++;
            }
        }

        return killed;
    }

    /// <summary>Waits until <paramref name="condition"/> holds, re-checked whenever settings or streams change.</summary>
    public async Task WaitAsync(Func<bool> condition, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task changed;
            lock (_signalGate)
            {
                changed = _changed.Task;
            }

            if (condition())
            {
                return;
            }

            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private void Signal()
    {
        TaskCompletionSource previous;
        lock (_signalGate)
        {
            previous = _changed;
            _changed = NewSignal();
        }

        previous.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>One open Telemetry stream: its handler ends when <see cref="Token"/> fires.</summary>
    internal sealed class TelemetryStream : IDisposable
    {
        private readonly CancellationTokenSource _kill;

        public TelemetryStream(long id, string clientId, CancellationToken stopping)
        {
            Id = id;
            ClientId = clientId;
            _kill = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        }

        public long Id { get; }

        public string ClientId { get; }

        public bool Killed { get; private set; }

        public CancellationToken Token => _kill.Token;

        public bool Kill()
        {
            try
            {
                Killed = true;
                _kill.Cancel();
                return true;
            }
            catch (ObjectDisposedException)
            {
                return false;
            }
        }

        public void Dispose() => _kill.Dispose();
    }
}
