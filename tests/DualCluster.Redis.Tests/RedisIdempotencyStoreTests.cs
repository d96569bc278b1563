using DualCluster.Idempotency;
using StackExchange.Redis;

namespace DualCluster.Redis.Tests;

public sealed class RedisIdempotencyStoreTests(RedisServerFixture fixture) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private ConnectionMultiplexer _multiplexer = null!;

    public async Task InitializeAsync() => _multiplexer = await ConnectionMultiplexer.ConnectAsync(fixture.Server.ConnectionString);

    public async Task DisposeAsync() => await _multiplexer.DisposeAsync();

    [Fact]
    public async Task Records_live_under_the_configured_key_prefix()
    {
        var store = new RedisIdempotencyStore(_multiplexer, new RedisIdempotencyStoreOptions { KeyPrefix = "app-a:" });

        await store.TryClaimAsync("order-1", TimeSpan.FromMinutes(1));

        var db = _multiplexer.GetDatabase();
        Assert.True(await db.KeyExistsAsync("app-a:order-1"));
        Assert.False(await db.KeyExistsAsync("order-1"));
    }

    [Fact]
    public async Task Stores_with_different_prefixes_do_not_see_each_others_keys()
    {
        var a = new RedisIdempotencyStore(_multiplexer, new RedisIdempotencyStoreOptions { KeyPrefix = "tenant-a:" });
        var b = new RedisIdempotencyStore(_multiplexer, new RedisIdempotencyStoreOptions { KeyPrefix = "tenant-b:" });

        await a.TryClaimAsync("same-key", TimeSpan.FromMinutes(1));

        Assert.Equal(ClaimStatus.Acquired, (await b.TryClaimAsync("same-key", TimeSpan.FromMinutes(1))).Status);
    }

    [Fact]
    public async Task Claim_lives_for_its_lease_and_completion_for_its_retention_by_itself()
    {
        var store = new RedisIdempotencyStore(_multiplexer, new RedisIdempotencyStoreOptions { KeyPrefix = "ttl:" });
        var db = _multiplexer.GetDatabase();

        var claim = await store.TryClaimAsync("k", TimeSpan.FromMinutes(5));
        var leaseTtl = await db.KeyTimeToLiveAsync("ttl:k");
        await store.CompleteAsync("k", claim.FencingToken, TimeSpan.FromDays(7));
        var retentionTtl = await db.KeyTimeToLiveAsync("ttl:k");

        Assert.InRange(leaseTtl!.Value, TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(5));
        Assert.InRange(retentionTtl!.Value, TimeSpan.FromDays(6.9), TimeSpan.FromDays(7));
    }

    [Fact]
    public async Task Renewal_raises_the_keys_ttl_on_the_server_and_never_shortens_it()
    {
        var store = new RedisIdempotencyStore(_multiplexer, new RedisIdempotencyStoreOptions { KeyPrefix = "renew:" });
        var db = _multiplexer.GetDatabase();

        var claim = await store.TryClaimAsync("k", TimeSpan.FromMinutes(1));
        Assert.True(await store.RenewAsync("k", claim.FencingToken, TimeSpan.FromHours(1)));
        var renewedTtl = await db.KeyTimeToLiveAsync("renew:k");
        Assert.True(await store.RenewAsync("k", claim.FencingToken, TimeSpan.FromMinutes(1)));
        var laterTtl = await db.KeyTimeToLiveAsync("renew:k");

        Assert.InRange(renewedTtl!.Value, TimeSpan.FromMinutes(59), TimeSpan.FromHours(1));
        Assert.InRange(laterTtl!.Value, TimeSpan.FromMinutes(59), TimeSpan.FromHours(1));
    }

    [Fact]
    public async Task Released_claim_leaves_no_record_behind()
    {
        var store = new RedisIdempotencyStore(_multiplexer, new RedisIdempotencyStoreOptions { KeyPrefix = "rel:" });

        var claim = await store.TryClaimAsync("k", TimeSpan.FromMinutes(5));
        await store.ReleaseAsync("k", claim.FencingToken);

        Assert.False(await _multiplexer.GetDatabase().KeyExistsAsync("rel:k"));
    }

    [Fact]
    public async Task Store_connected_by_configuration_string_owns_and_closes_its_connection()
    {
        var store = RedisIdempotencyStore.Connect(new RedisIdempotencyStoreOptions { Configuration = fixture.Server.ConnectionString });

        Assert.Equal(ClaimStatus.Acquired, (await store.TryClaimAsync(Guid.NewGuid().ToString(), TimeSpan.FromMinutes(1))).Status);
        store.Dispose();

        Assert.False(store.Multiplexer.IsConnected);
    }

    [Fact]
    public async Task Large_batch_is_claimed_and_completed_in_order()
    {
        var store = new RedisIdempotencyStore(_multiplexer, new RedisIdempotencyStoreOptions { KeyPrefix = "batch:" });
        var keys = Enumerable.Range(0, 1000).Select(i => $"{Guid.NewGuid():N}-{i}").ToArray();

        var claims = await store.TryClaimManyAsync(keys.Select(k => new IdempotencyClaimRequest(k)).ToArray(), TimeSpan.FromMinutes(1));
        var done = await store.CompleteManyAsync(keys.Select((k, i) => new IdempotencyCompletion(k, claims[i].FencingToken)).ToArray(), TimeSpan.FromMinutes(1));
        var again = await store.TryClaimManyAsync(keys.Select(k => new IdempotencyClaimRequest(k)).ToArray(), TimeSpan.FromMinutes(1));

        Assert.All(claims, c => Assert.Equal(ClaimStatus.Acquired, c.Status));
        Assert.All(done, Assert.True);
        Assert.All(again, c => Assert.Equal(ClaimStatus.Completed, c.Status));
    }

    [Fact]
    public void Invalid_options_are_rejected_with_a_message_naming_the_fix()
    {
        var noConfiguration = Assert.Throws<ArgumentException>(() => RedisIdempotencyStore.Connect(new RedisIdempotencyStoreOptions()));
        Assert.Contains("Configuration", noConfiguration.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new RedisIdempotencyStore(_multiplexer, new RedisIdempotencyStoreOptions { Database = -5 }));
        Assert.Throws<ArgumentException>(() => new RedisIdempotencyStore(_multiplexer, new RedisIdempotencyStoreOptions { LocalCache = new() { Enabled = true, Capacity = 0 } }));
    }

    [Fact]
    public async Task Non_positive_lease_or_retention_is_rejected_before_any_io()
    {
        var store = new RedisIdempotencyStore(_multiplexer);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.TryClaimAsync("k", TimeSpan.Zero).AsTask());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.CompleteAsync("k", 1, TimeSpan.FromSeconds(-1)).AsTask());
    }
}
