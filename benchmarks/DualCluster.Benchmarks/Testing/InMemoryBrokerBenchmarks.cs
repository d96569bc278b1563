using System.Text;
using BenchmarkDotNet.Attributes;
using DualCluster.Testing;
using DualCluster.Transport;

namespace DualCluster.Benchmarks.Testing;

/// <summary>
/// End-to-end throughput of the in-memory broker: <see cref="Messages"/> messages per operation, reported per
/// message (OperationsPerInvoke). Baseline: the raw broker loop (send, pop a batch, ack each) on one thread.
/// Target (design): send→handle through the transport at ≥ 300k messages/s, i.e. ≤ 3.33 µs per message.
/// </summary>
[MemoryDiagnoser]
public class InMemoryBrokerBenchmarks
{
    private const int Messages = 100_000;
    private const int SendBatch = 256;

    private static readonly byte[] Body = Encoding.UTF8.GetBytes("{\"orderId\":12345,\"status\":\"paid\"}");

    private OutgoingMessage[] _messages = [];

    [GlobalSetup]
    public void Setup()
    {
        _messages = new OutgoingMessage[Messages];
        for (var i = 0; i < Messages; i++)
        {
            _messages[i] = new OutgoingMessage("orders", Body) { Tag = "paid", IdempotencyKey = "order-" + i };
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Messages)]
    public long Raw_broker_send_receive_ack()
    {
        var broker = new InMemoryBroker(new InMemoryBrokerOptions { Name = "bench" });
        broker.Subscribe("g", "orders");
        var invisible = TimeSpan.FromSeconds(30);
        long handled = 0;
        for (var start = 0; start < Messages; start += SendBatch)
        {
            var end = Math.Min(start + SendBatch, Messages);
            for (var i = start; i < end; i++)
            {
                broker.Send(_messages[i]);
            }

            while (handled < end)
            {
                foreach (var delivery in broker.Receive("g", "orders", 32, invisible))
                {
                    handled += delivery.Message.Body.Length > 0 ? 1 : 0;
                    broker.Ack(delivery);
                }
            }
        }

        return handled;
    }

    [Benchmark(OperationsPerInvoke = Messages)]
    public async Task<long> Transport_send_to_handle()
    {
        var broker = new InMemoryBroker(new InMemoryBrokerOptions { Name = "bench" });
        await using var transport = new InMemoryClusterTransport(broker, ClusterRole.New);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        long handled = 0;
        var consumer = transport.CreateConsumer(new ConsumerSubscription("g", "orders"), (message, _) =>
        {
            if (Interlocked.Increment(ref handled) == Messages)
            {
                done.TrySetResult();
            }

            return new ValueTask<ConsumeOutcome>(ConsumeOutcome.Ack);
        });
        await consumer.StartAsync();
        var producer = transport.Producer;
        foreach (var message in _messages)
        {
            await producer.SendAsync(message);
        }

        await done.Task;
        await consumer.StopAsync();
        return handled;
    }
}
