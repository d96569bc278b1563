using System.Collections.Concurrent;

// "Old" and "New" are the cluster roles of the domain, not version suffixes.
#pragma warning disable CA1711

namespace DualCluster.Testing;

/// <summary>
/// The exact account of a rehearsal. Every message the traffic sends carries a sequence number; the ledger
/// records which sends a broker acknowledged (with the idempotency key and cluster) and every handler effect.
/// A message is <b>lost</b> when a broker acknowledged it and no handler effect was recorded for it; a
/// <b>duplicate effect</b> is any effect after the first for the same message.
/// </summary>
/// <remarks>Thread-safe. Memory is a few dozen bytes per message (arrays indexed by sequence number).</remarks>
public sealed class RehearsalLedger
{
    private const byte NotSent = 0;
    private const byte OnOld = 1;
    private const byte OnNew = 2;
    private const byte SendFailed = 3;

    private readonly byte[] _sent;
    private readonly int[] _effects;
    private readonly Guid[] _keys;
    private readonly ConcurrentDictionary<long, string> _otherKeys = new();
    private readonly ConcurrentDictionary<long, ConcurrentQueue<string>>? _history;
    private readonly LatencyHistogram _latency = new();
    private long _sentOld;
    private long _sentNew;
    private long _sendFailures;
    private long _handledOld;
    private long _handledNew;
    private long _unique;
    private long _duplicates;
    private long _unconfirmed;

    /// <summary>Creates a ledger for sequence numbers 1..<paramref name="capacity"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is below 1.</exception>
    public RehearsalLedger(int capacity)
        : this(capacity, capacity <= HistoryLimit)
    {
    }

    /// <summary>Creates a ledger for sequence numbers 1..<paramref name="capacity"/>, keeping each effect's origin or not.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is below 1.</exception>
    public RehearsalLedger(int capacity, bool keepHistory)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        _sent = new byte[capacity + 1];
        _effects = new int[capacity + 1];
        _keys = new Guid[capacity + 1];
        _history = keepHistory ? new() : null;
    }

    /// <summary>Up to this many messages, the ledger keeps where each effect came from (reported with duplicates) unless told otherwise.</summary>
    public const int HistoryLimit = 100_000;

    /// <summary>The highest sequence number the ledger tracks.</summary>
    public int Capacity { get; }

    /// <summary>Sends a broker acknowledged.</summary>
    public long Sent => Interlocked.Read(ref _sentOld) + Interlocked.Read(ref _sentNew);

    /// <summary>Sends acknowledged by Old.</summary>
    public long SentOld => Interlocked.Read(ref _sentOld);

    /// <summary>Sends acknowledged by New.</summary>
    public long SentNew => Interlocked.Read(ref _sentNew);

    /// <summary>Sends the producer facade reported as failed (the application knows; not counted as sent).</summary>
    public long SendFailures => Interlocked.Read(ref _sendFailures);

    /// <summary>Handler effects of messages delivered by Old (duplicates included).</summary>
    public long HandledOld => Interlocked.Read(ref _handledOld);

    /// <summary>Handler effects of messages delivered by New (duplicates included).</summary>
    public long HandledNew => Interlocked.Read(ref _handledNew);

    /// <summary>Messages with at least one handler effect.</summary>
    public long HandledUnique => Interlocked.Read(ref _unique);

    /// <summary>Handler effects beyond the first for the same message: what idempotent consumption must keep at 0.</summary>
    public long DuplicateEffects => Interlocked.Read(ref _duplicates);

    /// <summary>
    /// Messages handled although their send was reported failed (a broker stored a copy before the failure was
    /// reported). Neither lost nor duplicated: the application was told the send may not have happened.
    /// </summary>
    public long HandledAfterFailedSend => Interlocked.Read(ref _unconfirmed);

    /// <summary>Acknowledged sends not (yet) handled. After a run has settled, this is the loss.</summary>
    public long Outstanding
    {
        get
        {
            long count = 0;
            for (var i = 1; i < _sent.Length; i++)
            {
                var sent = Volatile.Read(ref _sent[i]);
                if ((sent == OnOld || sent == OnNew) && Volatile.Read(ref _effects[i]) == 0)
                {
                    count++;
                }
            }

            return count;
        }
    }

    /// <summary>End-to-end latency (send started → handler effect) of first effects.</summary>
    public LatencySummary Latency => _latency.Summarize();

    /// <summary>Records a send a broker acknowledged.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sequence"/> is outside 1..<see cref="Capacity"/>.</exception>
    public void RecordSent(long sequence, ClusterRole cluster, string idempotencyKey)
    {
        var i = Index(sequence);
        if (Guid.TryParseExact(idempotencyKey, "N", out var guid))
        {
            _keys[i] = guid;
        }
        else
        {
            _otherKeys[sequence] = idempotencyKey;
        }

        Volatile.Write(ref _sent[i], cluster == ClusterRole.Old ? OnOld : OnNew);
        Interlocked.Increment(ref cluster == ClusterRole.Old ? ref _sentOld : ref _sentNew);
        if (Volatile.Read(ref _effects[i]) > 0)
        {
            // Handled before the send call returned (fast consumers): nothing more to do.
        }
    }

    /// <summary>Records a send the producer facade reported as failed.</summary>
    public void RecordSendFailed(long sequence)
    {
        var i = Index(sequence);
        Volatile.Write(ref _sent[i], SendFailed);
        Interlocked.Increment(ref _sendFailures);
        if (Volatile.Read(ref _effects[i]) > 0)
        {
            // A stored copy was handled before the producer gave up.
            Interlocked.Increment(ref _unconfirmed);
        }
    }

    /// <summary>Records one handler effect.</summary>
    /// <param name="sequence">The message's sequence number.</param>
    /// <param name="cluster">The cluster that delivered it.</param>
    /// <param name="latency">Send start to effect.</param>
    /// <returns>True for the first effect of the message; false for a duplicate effect.</returns>
    public bool RecordHandled(long sequence, ClusterRole cluster, TimeSpan latency) => RecordHandled(sequence, cluster, latency, null);

    /// <summary>Records one handler effect and, for runs of up to <see cref="HistoryLimit"/> messages, where it came from.</summary>
    /// <param name="sequence">The message's sequence number.</param>
    /// <param name="cluster">The cluster that delivered it.</param>
    /// <param name="latency">Send start to effect.</param>
    /// <param name="origin">Where the effect came from (node, attempt…), kept for the report of duplicates.</param>
    /// <returns>True for the first effect of the message; false for a duplicate effect.</returns>
    public bool RecordHandled(long sequence, ClusterRole cluster, TimeSpan latency, string? origin)
    {
        var i = Index(sequence);
        if (origin is not null && _history is not null)
        {
            _history.GetOrAdd(sequence, static _ => new ConcurrentQueue<string>()).Enqueue(origin);
        }

        Interlocked.Increment(ref cluster == ClusterRole.Old ? ref _handledOld : ref _handledNew);
        var effects = Interlocked.Increment(ref _effects[i]);
        if (effects > 1)
        {
            Interlocked.Increment(ref _duplicates);
            return false;
        }

        Interlocked.Increment(ref _unique);
        _latency.Record(latency);
        if (Volatile.Read(ref _sent[i]) == SendFailed)
        {
            Interlocked.Increment(ref _unconfirmed);
        }

        return true;
    }

    /// <summary>How many handler effects <paramref name="sequence"/> has.</summary>
    public int EffectsOf(long sequence) => Volatile.Read(ref _effects[Index(sequence)]);

    /// <summary>Acknowledged messages without any handler effect, first <paramref name="max"/>, with their idempotency keys.</summary>
    public IReadOnlyList<LedgerEntry> GetLost(int max = 20) => Find(max, static (sent, effects) => (sent == OnOld || sent == OnNew) && effects == 0);

    /// <summary>Messages with more than one handler effect, first <paramref name="max"/>, with their idempotency keys.</summary>
    public IReadOnlyList<LedgerEntry> GetDuplicated(int max = 20) => Find(max, static (_, effects) => effects > 1);

    private List<LedgerEntry> Find(int max, Func<byte, int, bool> match)
    {
        var found = new List<LedgerEntry>();
        for (var i = 1; i < _sent.Length && found.Count < max; i++)
        {
            var sent = Volatile.Read(ref _sent[i]);
            var effects = Volatile.Read(ref _effects[i]);
            if (match(sent, effects))
            {
                found.Add(new LedgerEntry(i, KeyOf(i), sent switch { OnOld => ClusterRole.Old, OnNew => ClusterRole.New, _ => null }, effects)
                {
                    History = _history is not null && _history.TryGetValue(i, out var history) ? [.. history] : [],
                });
            }
        }

        return found;
    }

    private string? KeyOf(long sequence) =>
        _otherKeys.TryGetValue(sequence, out var key) ? key
        : _keys[sequence] == Guid.Empty ? null
        : _keys[sequence].ToString("N");

    private int Index(long sequence)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sequence, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sequence, Capacity);
        return (int)sequence;
    }
}

/// <summary>One message the ledger reports (lost or duplicated).</summary>
/// <param name="Sequence">The traffic's sequence number.</param>
/// <param name="IdempotencyKey">The key the producer facade stamped; null when the send was never acknowledged.</param>
/// <param name="SentTo">The cluster that acknowledged the send; null when none did.</param>
/// <param name="Effects">How many handler effects it has.</param>
public sealed record LedgerEntry(long Sequence, string? IdempotencyKey, ClusterRole? SentTo, int Effects)
{
    /// <summary>Where each effect came from (runs of up to <see cref="RehearsalLedger.HistoryLimit"/> messages).</summary>
    public IReadOnlyList<string> History { get; init; } = [];
}
