using DualCluster.Conformance.Fleet;
using DualCluster.Fleet;
using Microsoft.Extensions.Time.Testing;

namespace DualCluster.Tests.Fleet;

public sealed class InMemoryFleetRegistryContractTests : FleetRegistryContract
{
    private readonly FakeTimeProvider _time = new();
    private readonly InMemoryFleetRegistry _registry;

    public InMemoryFleetRegistryContractTests() => _registry = new InMemoryFleetRegistry(_time);

    protected override IFleetRegistry Registry => _registry;

    protected override Task<IFleetRegistry> CreateRegistryElsewhereAsync() => Task.FromResult<IFleetRegistry>(new InMemoryFleetRegistry(_time));

    protected override Task<IFleetRegistry> CreateUnreachableRegistryAsync() =>
        Task.FromResult<IFleetRegistry>(new InMemoryFleetRegistry(_time) { Unavailable = true });

    protected override Task LapseAsync(TimeSpan duration)
    {
        _time.Advance(duration);
        return Task.CompletedTask;
    }
}
