using System.Collections.Concurrent;

namespace MigrationWalkthrough;

/// <summary>
/// The exact account of the run: every message sent (by sequence number) and every handler effect.
/// A message is lost when it was sent (acknowledged by a broker) and never handled; a duplicate effect
/// is a second handler run for the same message.
/// </summary>
internal sealed class Ledger
{
    private readonly ConcurrentDictionary<long, int> _effects = new();
    private readonly ConcurrentDictionary<long, byte> _sent = new();
    private long _handledOld;
    private long _handledNew;
    private long _sentOld;
    private long _sentNew;

    public long Sent => _sent.Count;

    public long SentOld => Interlocked.Read(ref _sentOld);

    public long SentNew => Interlocked.Read(ref _sentNew);

    public long HandledOld => Interlocked.Read(ref _handledOld);

    public long HandledNew => Interlocked.Read(ref _handledNew);

    public long ConsumedUnique => _effects.Count;

    public long DuplicateEffects => _effects.Values.Sum(v => (long)Math.Max(0, v - 1));

    public long Lost => _sent.Keys.Count(k => !_effects.ContainsKey(k));

    public long Outstanding => _sent.Count - _sent.Keys.Count(_effects.ContainsKey);

    public void RecordSent(long sequence, DualCluster.ClusterRole cluster)
    {
        _sent.TryAdd(sequence, 0);
        Interlocked.Increment(ref cluster == DualCluster.ClusterRole.Old ? ref _sentOld : ref _sentNew);
    }

    public void RecordHandled(long sequence, DualCluster.ClusterRole cluster)
    {
        _effects.AddOrUpdate(sequence, 1, static (_, n) => n + 1);
        Interlocked.Increment(ref cluster == DualCluster.ClusterRole.Old ? ref _handledOld : ref _handledNew);
    }
}
