using System.Diagnostics;
using DualCluster.Transport;

namespace DualCluster.Grpc.Benchmarks;

/// <summary>Steady-state consume rate: a running push consumer drains pre-filled 1 KiB messages (start and stop excluded).</summary>
internal static class ConsumeProbe
{
    public static async Task RunAsync()
    {
        await using var rig = await GrpcRig.StartAsync();
        var body = new byte[1024];
        Console.WriteLine("| handlers | messages | msg/s | process CPU µs/msg |");
        Console.WriteLine("|---:|---:|---:|---:|");
        foreach (var handlers in new[] { 16, 64 })
        {
            var topic = $"ConsumeProbe{handlers}";
            rig.Broker.CreateTopic(topic, 4);
            var count = 0;
            var target = 1;
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var consumer = rig.Transport.CreateConsumer(new ConsumerSubscription($"G{handlers}", topic) { MaxConcurrency = handlers }, (_, _) =>
            {
                if (Interlocked.Increment(ref count) == Volatile.Read(ref target))
                {
                    done.TrySetResult();
                }

                return ValueTask.FromResult(ConsumeOutcome.Ack);
            });
            await consumer.StartAsync();
            await rig.Transport.Producer.SendAsync(new OutgoingMessage(topic, body));
            await done.Task.WaitAsync(TimeSpan.FromMinutes(1));

            const int Messages = 10_000;
            done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref count, 0);
            Volatile.Write(ref target, Messages);
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < Messages; i++)
            {
                rig.Broker.Send(new OutgoingMessage(topic, body));
            }

            await done.Task.WaitAsync(TimeSpan.FromMinutes(2));
            clock.Stop();
            var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMicroseconds / Messages;
            Console.WriteLine($"| {handlers} | {Messages} | {Messages / clock.Elapsed.TotalSeconds:N0} | {cpu:N1} |");
            await consumer.StopAsync();
            await consumer.DisposeAsync();
        }
    }
}
