using System.Collections.Concurrent;

namespace DualCluster.RocketMQ.Testing.Remoting;

/// <summary>
/// Wire-level faults of a <see cref="RemotingLoopbackCluster"/>: failed responses for a request code and
/// dropped connections. Storage faults (pause, failed sends, lost acks) live on the in-memory broker's
/// own <c>Faults</c>. Thread-safe.
/// </summary>
public sealed class RemotingLoopbackFaults
{
    private readonly ConcurrentDictionary<int, (int Count, int ResponseCode)> _failures = new();
    private readonly Action _dropConnections;

    internal RemotingLoopbackFaults(Action dropConnections) => _dropConnections = dropConnections;

    /// <summary>The next <paramref name="count"/> requests with <paramref name="requestCode"/> get <paramref name="responseCode"/> (default SYSTEM_BUSY, 2) without being processed.</summary>
    public void FailNext(int requestCode, int count, int responseCode = 2)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        _failures[requestCode] = (count, responseCode);
    }

    /// <summary>Closes every client connection to the name server and broker now (clients must reconnect).</summary>
    public void DropConnections() => _dropConnections();

    /// <summary>Clears the injected failures.</summary>
    public void Reset() => _failures.Clear();

    internal int? TakeFailure(int requestCode)
    {
        while (_failures.TryGetValue(requestCode, out var entry) && entry.Count > 0)
        {
            if (_failures.TryUpdate(requestCode, (entry.Count - 1, entry.ResponseCode), entry))
            {
                return entry.ResponseCode;
            }
        }

        return null;
    }
}
