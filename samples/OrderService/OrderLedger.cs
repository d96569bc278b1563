using System.Collections.Concurrent;

namespace OrderService;

/// <summary>Stands in for the service's database: remembers which orders were booked and how often.</summary>
public sealed class OrderLedger
{
    private readonly ConcurrentDictionary<string, int> _bookings = new();

    public int Book(string orderId) => _bookings.AddOrUpdate(orderId, 1, static (_, n) => n + 1);

    public int Count => _bookings.Count;

    public int Twice => _bookings.Values.Count(n => n > 1);
}
