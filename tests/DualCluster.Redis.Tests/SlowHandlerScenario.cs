using System.Diagnostics;
using DualCluster.Idempotency;
using DualCluster.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DualCluster.Stores.Tests;

/// <summary>
/// One consumer node on the in-memory broker using a real remote store with a short lease: a handler that runs for
/// more than two leases keeps its key, because the gate renews its claim on the store's clock. Meanwhile the broker
/// redelivers the message (its invisible duration is shorter than the handler) and a second claimer keeps trying the
/// key; neither gets it, and the handler runs once. Shared by the Redis and PostgreSQL test projects.
/// </summary>
public static class SlowHandlerScenario
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>Long enough that a renewal every quarter lease survives a busy machine, short enough for a fast test.</summary>
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(2);

    public static async Task RunAsync(IIdempotencyStore store)
    {
        const string Topic = "orders";
        var group = $"slow-group-{Guid.NewGuid():N}";
        var old = new InMemoryBroker();
        var @new = new InMemoryBroker();
        old.CreateTopic(Topic, 1);
        @new.CreateTopic(Topic, 1);
        old.ConfigureGroup(group, startPosition: ConsumeStartPosition.Earliest);
        @new.ConfigureGroup(group, startPosition: ConsumeStartPosition.Earliest);
        var watched = new WatchedStore(store);
        var handled = 0;
        var started = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["DualCluster:NodeId"] = "node-1",
            ["DualCluster:Clusters:Old:Protocol"] = "InMemory",
            ["DualCluster:Clusters:New:Protocol"] = "InMemory",
            ["DualCluster:Producer:NewWeight"] = "0",
            ["DualCluster:Consumer:NewWeight"] = "0",
            ["DualCluster:Idempotency:Lease"] = Lease.ToString(),
            ["DualCluster:Idempotency:HeldElsewhereRetryDelay"] = "00:00:00.100",
        });
        builder.Services.AddDualCluster(builder.Configuration.GetSection("DualCluster"))
            .UseInMemoryBrokers(old, @new, new InMemoryTransportOptions { PollTimeout = TimeSpan.FromMilliseconds(200) })
            .UseIdempotencyStore(_ => watched)
            .AddConsumer(group, Topic, async (context, _) =>
            {
                Interlocked.Increment(ref handled);
                started.TrySetResult(context.StoreKey);
                await release.Task;
            }, o => o.InvisibleDuration = TimeSpan.FromSeconds(1));
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            old.Send(new OutgoingMessage(Topic, "order 42"u8.ToArray()));
            var storeKey = await started.Task.WaitAsync(Deadline);

            // The claim was taken before the handler started, so by the end of this loop more than two leases have
            // passed since it was taken; every try in between must find the key held.
            var running = Stopwatch.StartNew();
            var tries = 0;
            while (running.Elapsed <= (Lease * 2) + (Lease / 4))
            {
                var claim = await store.TryClaimAsync(storeKey, Lease);
                tries++;
                Assert.True(
                    claim.Status == ClaimStatus.HeldElsewhere,
                    $"try {tries}, {running.Elapsed.TotalMilliseconds:F0} ms into the handler: the key was {claim.Status}");
                await Task.Delay(50);
            }

            await watched.FirstTurnedAway.WaitAsync(Deadline); // a redelivered copy was postponed, not run
            Assert.Equal(1, Volatile.Read(ref handled));
            Assert.True(watched.Renewals >= 2, $"the gate renewed the claim {watched.Renewals} times");

            release.SetResult();
            var drainedBy = DateTime.UtcNow + Deadline;
            while (!old.GetBacklog(group, Topic).IsDrained)
            {
                Assert.True(DateTime.UtcNow < drainedBy, "the message was handled but never acked");
                await Task.Delay(25);
            }

            Assert.Equal(1, Volatile.Read(ref handled));
            Assert.Equal(ClaimStatus.Completed, (await store.TryClaimAsync(storeKey, Lease)).Status);
        }
        finally
        {
            release.TrySetResult();
            await host.StopAsync();
        }
    }

    /// <summary>Passes every call to the store; counts successful renewals and reports the first claim turned away.</summary>
    private sealed class WatchedStore(IIdempotencyStore inner) : IIdempotencyStore
    {
        private readonly TaskCompletionSource _firstTurnedAway = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _renewals;

        public Task FirstTurnedAway => _firstTurnedAway.Task;

        public int Renewals => Volatile.Read(ref _renewals);

        public ValueTask<IdempotencyClaim> TryClaimAsync(string key, TimeSpan lease, CancellationToken cancellationToken = default) =>
            WatchAsync(inner.TryClaimAsync(key, lease, cancellationToken));

        public ValueTask<IdempotencyClaim> TryClaimAsync(IdempotencyClaimRequest request, TimeSpan lease, CancellationToken cancellationToken = default) =>
            WatchAsync(inner.TryClaimAsync(request, lease, cancellationToken));

        public ValueTask<bool> CompleteAsync(string key, long fencingToken, TimeSpan retention, CancellationToken cancellationToken = default) =>
            inner.CompleteAsync(key, fencingToken, retention, cancellationToken);

        public async ValueTask<bool> RenewAsync(string key, long fencingToken, TimeSpan lease, CancellationToken cancellationToken = default)
        {
            var renewed = await inner.RenewAsync(key, fencingToken, lease, cancellationToken);
            if (renewed)
            {
                Interlocked.Increment(ref _renewals);
            }

            return renewed;
        }

        public ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken = default) =>
            inner.ReleaseAsync(key, fencingToken, cancellationToken);

        private async ValueTask<IdempotencyClaim> WatchAsync(ValueTask<IdempotencyClaim> call)
        {
            var claim = await call;
            if (claim.Status == ClaimStatus.HeldElsewhere)
            {
                _firstTurnedAway.TrySetResult();
            }

            return claim;
        }
    }
}
