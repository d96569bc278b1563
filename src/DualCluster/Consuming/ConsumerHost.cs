using Microsoft.Extensions.Hosting;

namespace DualCluster.Consuming;

/// <summary>
/// The one hosted service behind every consumer registration of a container: starts them all at once and stops them
/// all at once, so a host with many registrations neither starts nor drains them one after another. It owns the
/// consumers it created and disposes them with the container.
/// </summary>
internal sealed class ConsumerHost(IEnumerable<ConsumerSlot> slots, IServiceProvider services) : IHostedService, IAsyncDisposable
{
    private readonly ConsumerSlot[] _slots = [.. slots];

    public Task StartAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(_slots.Select(s => s.Get(services).StartAsync(cancellationToken)));

    public Task StopAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(_slots.Select(s => s.Instance).OfType<DualClusterConsumer>().Select(c => c.StopAsync(cancellationToken)));

    public async ValueTask DisposeAsync()
    {
        foreach (var consumer in _slots.Select(s => s.Instance).OfType<DualClusterConsumer>())
        {
            await consumer.DisposeAsync().ConfigureAwait(false);
        }
    }
}
