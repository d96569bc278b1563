using DualCluster.Conformance.Fleet;
using DualCluster.Fleet;
using StackExchange.Redis;

namespace DualCluster.Redis.Tests;

/// <summary>The fleet registry contract on a real redis-server, sharing one connection as the idempotency store does.</summary>
public sealed class RedisFleetRegistryContractTests(RedisContractFixture fixture) : FleetRegistryContract, IClassFixture<RedisContractFixture>
{
    private const string Prefix = "fleet-contract:";
    private readonly RedisFleetRegistry _registry = new(fixture.Multiplexer, new RedisFleetRegistryOptions { KeyPrefix = Prefix });

    protected override IFleetRegistry Registry => _registry;

    protected override Task<IFleetRegistry> CreateRegistryElsewhereAsync() =>
        Task.FromResult<IFleetRegistry>(new RedisFleetRegistry(fixture.Multiplexer, new RedisFleetRegistryOptions { KeyPrefix = $"fleet-elsewhere-{Guid.NewGuid():N}:" }));

    protected override async Task<IFleetRegistry> CreateUnreachableRegistryAsync()
    {
        var multiplexer = Own(await ConnectionMultiplexer.ConnectAsync(
            $"127.0.0.1:{ClosedLoopbackPort()},abortConnect=false,connectTimeout=500,asyncTimeout=1000,syncTimeout=1000,connectRetry=1"));
        return new RedisFleetRegistry(multiplexer);
    }

    protected override Task LapseAsync(TimeSpan duration) => Task.CompletedTask;

    protected override async Task<bool> PlantMalformedRecordAsync(string nodeId)
    {
        var database = fixture.Multiplexer.GetDatabase();
        await database.StringSetAsync($"{{{Prefix}}}node:{nodeId}", "{not a fleet record", TimeSpan.FromMinutes(10));
        await database.SetAddAsync($"{{{Prefix}}}nodes", nodeId);
        return true;
    }

    [Fact]
    public async Task Lapsed_node_is_pruned_from_the_id_set_by_the_next_read()
    {
        var node = Node("pruned");
        await Registry.PublishAsync(Member(node), ShortTimeToLive);
        Assert.True(await fixture.Multiplexer.GetDatabase().SetContainsAsync($"{{{Prefix}}}nodes", node));

        await LiveMembersEventuallyAsync(Registry, ms => ms.All(m => m.NodeId != node), "the record lapsed");

        Assert.False(await fixture.Multiplexer.GetDatabase().SetContainsAsync($"{{{Prefix}}}nodes", node));
    }

    [Fact]
    public void Keys_of_one_registry_share_a_hash_slot()
    {
        var slots = new[] { $"{{{Prefix}}}nodes", $"{{{Prefix}}}node:a", $"{{{Prefix}}}node:{{other}}z" }.Select(k => fixture.Multiplexer.HashSlot(k));

        Assert.Single(slots.Distinct());
    }

    [Theory]
    [InlineData("")]
    [InlineData("a{b")]
    [InlineData("a}b")]
    public void Prefix_that_cannot_be_a_hash_tag_is_rejected(string prefix)
    {
        var failure = Assert.Throws<ArgumentException>(() => new RedisFleetRegistry(fixture.Multiplexer, new RedisFleetRegistryOptions { KeyPrefix = prefix }));

        Assert.Contains("KeyPrefix", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Outage_message_names_the_operation_and_the_server()
    {
        var port = ClosedLoopbackPort();
        using var multiplexer = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port},abortConnect=false,connectTimeout=500,asyncTimeout=1000,connectRetry=1");
        var registry = new RedisFleetRegistry(multiplexer);

        var failure = await Assert.ThrowsAsync<FleetRegistryUnavailableException>(() => registry.PublishAsync(Member(Node("x")), LongTimeToLive).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Contains("publish node", failure.Message, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{port}", failure.Message, StringComparison.Ordinal);
        Assert.True(failure.InnerException is RedisException or TimeoutException, $"inner: {failure.InnerException}");
    }
}
