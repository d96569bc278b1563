using DualCluster.Idempotency;
using DualCluster.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DualCluster.Stores.Tests;

/// <summary>
/// One consumer node on the in-memory broker using a real remote store: while the store's server is down no handler
/// runs and nothing is acked; once it is back the message is handled once and acked. Shared by the Redis and
/// PostgreSQL test projects.
/// </summary>
public static class ConsumerOutageScenario
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    public static async Task RunAsync(IIdempotencyStore store, Func<Task> stopServer, Func<Task> startServer)
    {
        const string Topic = "orders";
        var group = $"order-group-{Guid.NewGuid():N}";
        var old = new InMemoryBroker();
        var @new = new InMemoryBroker();
        old.CreateTopic(Topic, 1);
        @new.CreateTopic(Topic, 1);
        old.ConfigureGroup(group, startPosition: ConsumeStartPosition.Earliest);
        @new.ConfigureGroup(group, startPosition: ConsumeStartPosition.Earliest);
        var watched = new WatchedStore(store);
        var handled = 0;
        var firstHandled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["DualCluster:NodeId"] = "node-1",
            ["DualCluster:Clusters:Old:Protocol"] = "InMemory",
            ["DualCluster:Clusters:New:Protocol"] = "InMemory",
            ["DualCluster:Producer:NewWeight"] = "0",
            ["DualCluster:Consumer:NewWeight"] = "0",
            ["DualCluster:Idempotency:HeldElsewhereRetryDelay"] = "00:00:00.100",
        });
        builder.Services.AddDualCluster(builder.Configuration.GetSection("DualCluster"))
            .UseInMemoryBrokers(old, @new, new InMemoryTransportOptions { PollTimeout = TimeSpan.FromMilliseconds(200) })
            .UseIdempotencyStore(_ => watched)
            .AddConsumer(group, Topic, (_, _) =>
            {
                Interlocked.Increment(ref handled);
                firstHandled.TrySetResult();
                return Task.CompletedTask;
            }, o => o.InvisibleDuration = TimeSpan.FromSeconds(1));
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            await stopServer();
            try
            {
                old.Send(new OutgoingMessage(Topic, "order 42"u8.ToArray()));
                var failure = await watched.FirstFailure.WaitAsync(Deadline);

                Assert.IsType<IdempotencyStoreUnavailableException>(failure);
                Assert.Equal(0, Volatile.Read(ref handled));
                Assert.Equal(1, old.GetBacklog(group, Topic).KnownTotal);
            }
            finally
            {
                await startServer();
            }

            await firstHandled.Task.WaitAsync(Deadline);
            var drainedBy = DateTime.UtcNow + Deadline;
            while (!old.GetBacklog(group, Topic).IsDrained)
            {
                Assert.True(DateTime.UtcNow < drainedBy, "the message was handled but never acked");
                await Task.Delay(25);
            }

            Assert.Equal(1, Volatile.Read(ref handled));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    /// <summary>Passes every call to the store and reports the first exception it threw.</summary>
    private sealed class WatchedStore(IIdempotencyStore inner) : IIdempotencyStore
    {
        private readonly TaskCompletionSource<Exception> _firstFailure = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<Exception> FirstFailure => _firstFailure.Task;

        public ValueTask<IdempotencyClaim> TryClaimAsync(string key, TimeSpan lease, CancellationToken cancellationToken = default) =>
            WatchAsync(inner.TryClaimAsync(key, lease, cancellationToken));

        public ValueTask<IdempotencyClaim> TryClaimAsync(IdempotencyClaimRequest request, TimeSpan lease, CancellationToken cancellationToken = default) =>
            WatchAsync(inner.TryClaimAsync(request, lease, cancellationToken));

        public ValueTask<bool> CompleteAsync(string key, long fencingToken, TimeSpan retention, CancellationToken cancellationToken = default) =>
            WatchAsync(inner.CompleteAsync(key, fencingToken, retention, cancellationToken));

        public ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken = default) =>
            WatchAsync(inner.ReleaseAsync(key, fencingToken, cancellationToken));

        public ValueTask<bool> RenewAsync(string key, long fencingToken, TimeSpan lease, CancellationToken cancellationToken = default) =>
            WatchAsync(inner.RenewAsync(key, fencingToken, lease, cancellationToken));

        private async ValueTask<T> WatchAsync<T>(ValueTask<T> call)
        {
            try
            {
                return await call;
            }
            catch (Exception ex)
            {
                _firstFailure.TrySetResult(ex);
                throw;
            }
        }
    }
}
