using DualCluster.Consuming;
using DualCluster.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace DualCluster.Tests.Fakes;

/// <summary>What the consumer facade tests share: picking a node id by bucket, starting a registration's consumer, waiting for a status.</summary>
internal static class ConsumerHarness
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    /// <summary>The first of <c>node-0 … node-9999</c> whose bucket satisfies <paramref name="predicate"/>.</summary>
    public static string NodeInBucket(Func<int, bool> predicate) =>
        Enumerable.Range(0, 10_000).Select(i => $"node-{i}").First(id => predicate(NodeBucket.Compute(id)));

    /// <summary>Starts the container's one consumer registration directly (no host).</summary>
    public static async Task<DualClusterConsumer> StartAsync(FakeCluster cluster)
    {
        var consumer = cluster.Services.GetRequiredService<ConsumerSlot>().Get(cluster.Services);
        await consumer.StartAsync(CancellationToken.None);
        return consumer;
    }

    /// <summary>Completes with the first reconciled status that satisfies <paramref name="until"/> (30 s safety timeout).</summary>
    public static Task<ConsumerStatus> NextStatus(DualClusterConsumer consumer, Func<ConsumerStatus, bool> until)
    {
        var tcs = new TaskCompletionSource<ConsumerStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        consumer.Reconciled += s =>
        {
            if (until(s))
            {
                tcs.TrySetResult(s);
            }
        };
        return tcs.Task.WaitAsync(Wait);
    }
}
