namespace DualCluster.Testing;

/// <summary>
/// One queue's append-only log; a message's offset is its index. Stored in fixed-size segments so a long log
/// never reallocates or lands on the large-object heap. Guarded by the broker's lock.
/// </summary>
internal sealed class QueueLog
{
    private const int SegmentShift = 12;
    private const int SegmentSize = 1 << SegmentShift;
    private const int SegmentMask = SegmentSize - 1;

    private readonly List<StoredMessage[]> _segments = [];

    public int Count { get; private set; }

    public StoredMessage this[int offset] => _segments[offset >> SegmentShift][offset & SegmentMask];

    public void Add(StoredMessage message)
    {
        var index = Count & SegmentMask;
        if (index == 0)
        {
            _segments.Add(new StoredMessage[SegmentSize]);
        }

        _segments[^1][index] = message;
        Count++;
    }

    public IEnumerable<StoredMessage> Enumerate()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }
}
