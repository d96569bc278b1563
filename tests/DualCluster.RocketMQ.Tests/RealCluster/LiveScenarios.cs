using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using DualCluster.Conformance.Transport;
using DualCluster.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DualCluster.RocketMQ.Tests.RealCluster;

/// <summary>
/// The fault-free scenarios of the real-cluster suite, written once and run both against the live clusters the
/// <c>DUALCLUSTER_IT_*</c> variables name and against loopback servers set up like them. Every scenario uses only the
/// topic and group it is given, filters by a run id (<see cref="RunScopedTransport"/>), and consumes what it sends.
/// Waits are on signals (or a polled condition) with a safety timeout, never on a fixed sleep.
/// </summary>
internal static class LiveScenarios
{
    /// <summary>The safety timeout of every wait: generous, real clusters redeliver in seconds (4.x: the delay level of the retry).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>How long priming may take: a first run on a group may have to skip many older messages.</summary>
    public static readonly TimeSpan PrimeTimeout = TimeSpan.FromMinutes(2);

    /// <summary>
    /// A run-scoped transport to <paramref name="cluster"/>, primed: the group is positioned on the topic and has
    /// consumed (acknowledged and ignored) whatever older messages it still had, so this run starts from a clean slate.
    /// </summary>
    public static async Task<RunScopedTransport> ConnectAsync(LiveCluster cluster, ClusterRole role, string? runId = null)
    {
        var transport = new RunScopedTransport(cluster.Connect(role), runId ?? RunScopedTransport.NewRunId());
        try
        {
            await PrimeAsync(transport, cluster);
            return transport;
        }
        catch
        {
            await transport.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Starts a consumer of the group, sends a marker and waits for it; on 4.x also waits until the exact backlog says
    /// nothing is left (older messages are acknowledged and ignored), then stops. Afterwards the group holds a position
    /// on the topic, so what this run sends next is not skipped by a "new group starts at the latest offset" rule.
    /// </summary>
    public static async Task PrimeAsync(RunScopedTransport transport, LiveCluster cluster)
    {
        await EnsureTopicExistsAsync(transport, cluster);
        var marker = "prime-" + transport.RunId;
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = transport.CreateConsumer(Subscribe(cluster), (m, _) =>
        {
            if (m.IdempotencyKey == marker)
            {
                seen.TrySetResult();
            }

            return new(ConsumeOutcome.Ack);
        });
        await consumer.StartAsync();
        try
        {
            await transport.Producer.SendAsync(Message(cluster, marker));
            try
            {
                await seen.Task.WaitAsync(PrimeTimeout);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException(
                    $"Priming {cluster}: the marker sent to the topic did not reach the group within {PrimeTimeout.TotalMinutes} min " +
                    $"({transport.Ignored} older messages skipped meanwhile). Is another application consuming the same group, or is the " +
                    "group subscribed to a different topic elsewhere? Use a topic and a group dedicated to this check.");
            }

            if (cluster.BacklogIsExact)
            {
                await WaitUntilAsync(
                    async () => IsEmpty(await transport.BacklogProbe.GetBacklogAsync(cluster.Group, cluster.Topic)),
                    async () => $"priming {cluster}: the group's backlog stays at {await transport.BacklogProbe.GetBacklogAsync(cluster.Group, cluster.Topic)}; " +
                        "another producer may be writing the check's topic",
                    PrimeTimeout);
            }
        }
        finally
        {
            await consumer.StopAsync();
            await consumer.DisposeAsync();
        }
    }

    /// <summary>
    /// On 4.x, asks for the topic's route (through the backlog probe) before anything is sent: the remoting producer, like
    /// the Java client, sends to an unknown topic through the auto-create template (TBW102), and a broker with
    /// <c>autoCreateTopicEnable</c> would then create it. The suite creates nothing, so a missing topic stops it here.
    /// (The 5.x proxy answers TOPIC_NOT_FOUND by itself and creates nothing.)
    /// </summary>
    private static async Task EnsureTopicExistsAsync(RunScopedTransport transport, LiveCluster cluster)
    {
        if (cluster.Protocol != LiveCluster.Remoting)
        {
            return;
        }

        try
        {
            await transport.BacklogProbe.GetBacklogAsync(cluster.Group, cluster.Topic);
        }
        catch (ClusterTransportException ex) when (ex.StatusCode == "17")
        {
            throw new InvalidOperationException(
                $"The topic '{cluster.Topic}' does not exist on {cluster}: create it first (docs/real-clusters.md, \"Create these first\"). " +
                "The suite never creates it, and sends nothing to a topic the name servers do not know (a broker with autoCreateTopicEnable would create it).",
                ex);
        }
    }

    /// <summary>Ten messages, each received once with its body, tag, keys and properties; acknowledged ones are not redelivered to a fresh consumer of the group.</summary>
    public static async Task SentMessagesArriveIntactOnceEachAsync(LiveCluster cluster)
    {
        await using var transport = await ConnectAsync(cluster, cluster.UsualRole);
        var log = new ReceivedLog();
        var consumer = await StartAsync(transport, cluster, Acking(log));
        var receipts = new Dictionary<string, SendReceipt>(StringComparer.Ordinal);
        for (var i = 0; i < 10; i++)
        {
            var key = Key(transport, "m" + i.ToString(CultureInfo.InvariantCulture));
            var message = Message(cluster, key, tag: "it");
            message.Keys.Add(key);
            message.Properties["n"] = i.ToString(CultureInfo.InvariantCulture);
            receipts[key] = await transport.Producer.SendAsync(message);
        }

        await log.WaitForAsync(m => Distinct(m) >= receipts.Count, Timeout);
        await consumer.StopAsync();
        await consumer.DisposeAsync();

        var after = new ReceivedLog();
        var fresh = await StartAsync(transport, cluster, Acking(after));
        var marker = Key(transport, "after-restart");
        await transport.Producer.SendAsync(Message(cluster, marker));
        await after.WaitForAsync(m => m.Any(x => x.IdempotencyKey == marker), Timeout);
        await fresh.StopAsync();
        await fresh.DisposeAsync();

        foreach (var (key, receipt) in receipts)
        {
            var received = Assert.Single(log.Messages, m => m.IdempotencyKey == key);
            Assert.Equal(cluster.UsualRole, receipt.Cluster);
            Assert.Equal(receipt.MessageId, received.MessageId);
            Assert.Equal(cluster.UsualRole, received.Cluster);
            Assert.Equal(cluster.Topic, received.Topic);
            Assert.Equal("body of " + key, Encoding.UTF8.GetString(received.Body.Span));
            Assert.Equal("it", received.Tag);
            Assert.Contains(key, received.Keys);
            Assert.Equal(1, received.DeliveryAttempt);
            Assert.Equal(0, after.CountOf(key));
        }

        Assert.Equal(Enumerable.Range(0, 10).Select(i => i.ToString(CultureInfo.InvariantCulture)).Order(StringComparer.Ordinal),
            log.Messages.Select(m => m.Properties["n"]).Order(StringComparer.Ordinal));
    }

    /// <summary>A handler that throws on the first delivery gets the same message again (attempt 2), which its ack settles.</summary>
    public static async Task HandlerFailureIsRedeliveredThenSettledAsync(LiveCluster cluster)
    {
        await using var transport = await ConnectAsync(cluster, cluster.UsualRole);
        var log = new ReceivedLog();
        var consumer = await StartAsync(transport, cluster, (m, _) =>
        {
            log.Add(m);
            return m.DeliveryAttempt == 1 ? throw new InvalidOperationException("handler failure on purpose") : new(ConsumeOutcome.Ack);
        });

        var key = Key(transport, "fails-once");
        var receipt = await transport.Producer.SendAsync(Message(cluster, key));
        await log.WaitForAsync(m => m.Any(x => x.IdempotencyKey == key && x.DeliveryAttempt >= 2), Timeout);
        await consumer.StopAsync();
        await consumer.DisposeAsync();

        var deliveries = log.Messages.Where(m => m.IdempotencyKey == key).ToList();
        Assert.Equal([1, 2], deliveries.Select(m => m.DeliveryAttempt));
        Assert.All(deliveries, m => Assert.Equal(receipt.MessageId, m.MessageId));
        Assert.All(deliveries, m => Assert.Equal("body of " + key, Encoding.UTF8.GetString(m.Body.Span)));
    }

    /// <summary>
    /// What the protocol tells of the backlog: 4.x counts exactly the three messages sent while no consumer ran, and
    /// nothing once they are consumed; 5.x says it cannot tell (unknown, never "drained"). Either way the three are consumed.
    /// </summary>
    public static async Task BacklogIsReportedAsTheProtocolCanAsync(LiveCluster cluster)
    {
        await using var transport = await ConnectAsync(cluster, cluster.UsualRole);
        var keys = Enumerable.Range(0, 3).Select(i => Key(transport, "backlog" + i.ToString(CultureInfo.InvariantCulture))).ToList();
        foreach (var key in keys)
        {
            await transport.Producer.SendAsync(Message(cluster, key));
        }

        var before = await transport.BacklogProbe.GetBacklogAsync(cluster.Group, cluster.Topic);
        Assert.False(before.IsDrained, before.ToString());
        if (cluster.BacklogIsExact)
        {
            Assert.True(before is { Ready: 3, Retry: 0, InFlight: 0 }, $"expected exactly the 3 messages sent while no consumer ran, got {before}");
        }
        else
        {
            Assert.NotEmpty(before.UnknownFigures);
        }

        var log = new ReceivedLog();
        var consumer = await StartAsync(transport, cluster, Acking(log));
        await log.WaitForAsync(m => keys.All(k => m.Any(x => x.IdempotencyKey == k)), Timeout);
        await consumer.StopAsync();
        await consumer.DisposeAsync();
        if (cluster.BacklogIsExact)
        {
            await WaitUntilAsync(
                async () => IsEmpty(await transport.BacklogProbe.GetBacklogAsync(cluster.Group, cluster.Topic)),
                async () => $"the backlog returns to 0 after consumption, still {await transport.BacklogProbe.GetBacklogAsync(cluster.Group, cluster.Topic)}",
                Timeout);
        }
        else
        {
            Assert.False((await transport.BacklogProbe.GetBacklogAsync(cluster.Group, cluster.Topic)).IsDrained, "an unknown backlog is never reported drained");
        }
    }

    /// <summary>A consumer stopped and started again receives what was sent while it was stopped: nothing is lost.</summary>
    public static async Task ConsumerStoppedAndStartedAgainLosesNothingAsync(LiveCluster cluster)
    {
        await using var transport = await ConnectAsync(cluster, cluster.UsualRole);
        var log = new ReceivedLog();
        var consumer = await StartAsync(transport, cluster, Acking(log));
        var keys = Enumerable.Range(0, 10).Select(i => Key(transport, "s" + i.ToString(CultureInfo.InvariantCulture))).ToList();
        foreach (var key in keys.Take(5))
        {
            await transport.Producer.SendAsync(Message(cluster, key));
        }

        await log.WaitForAsync(m => keys.Take(5).All(k => m.Any(x => x.IdempotencyKey == k)), Timeout);
        await consumer.StopAsync();
        foreach (var key in keys.Skip(5))
        {
            await transport.Producer.SendAsync(Message(cluster, key));
        }

        await consumer.StartAsync();
        await log.WaitForAsync(m => keys.All(k => m.Any(x => x.IdempotencyKey == k)), Timeout);
        await consumer.StopAsync();
        await consumer.DisposeAsync();
        Assert.Equal(keys.Order(StringComparer.Ordinal), log.Messages.Select(m => m.IdempotencyKey!).Distinct().Order(StringComparer.Ordinal));
    }

    /// <summary>
    /// The migration in miniature through the public API (<c>AddDualCluster(...).UseRocketMQ()</c>): a consumer node reading
    /// both clusters (DoubleRead) and three producer nodes, one writing Old (weight 0), one writing New (weight 100) and
    /// one writing Old and mirroring to New. Each message arrives from the cluster(s) it was written to, and its handler
    /// runs exactly once (a mirrored message's second copy is recognised by its idempotency key and skipped).
    /// </summary>
    public static async Task MigrationFacadesHandleEveryMessageOnceAsync(LiveCluster old, LiveCluster @new)
    {
        Assert.Equal(old.Topic, @new.Topic);
        Assert.Equal(old.Group, @new.Group);
        var runId = RunScopedTransport.NewRunId();
        await using (await ConnectAsync(old, ClusterRole.Old, runId))
        {
        }

        await using (await ConnectAsync(@new, ClusterRole.New, runId))
        {
        }

        var handled = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var settled = new ConcurrentDictionary<(string Key, ClusterRole Cluster), ConsumeOutcome>();
        var hosts = new List<IHost>();
        try
        {
            var consumerNode = await StartNodeAsync(old, @new, runId, "consumer", settled, o => { }, dual => dual.AddConsumer(old.Group, old.Topic, (context, _) =>
            {
                handled.AddOrUpdate(context.Message.IdempotencyKey!, 1, (_, n) => n + 1);
                return Task.CompletedTask;
            }, o =>
            {
                o.MaxConcurrency = 4;
                o.InvisibleDuration = TimeSpan.FromSeconds(30);
            }));
            hosts.Add(consumerNode);
            var status = consumerNode.Services.GetRequiredService<IDualClusterStatus>();
            await WaitUntilAsync(
                () => Task.FromResult(status.GetStatus().Consumers.All(c => c.Phase == ConsumerPhase.Both)),
                () => Task.FromResult("the consumer facade reads both clusters: " + string.Join(", ", status.GetStatus().Consumers.Select(c => $"{c.Phase} {c.LastError}"))),
                Timeout);

            var expected = new Dictionary<string, ClusterRole[]>(StringComparer.Ordinal);
            var writers = new (string Name, Action<DualClusterOptions> Configure, ClusterRole[] Clusters)[]
            {
                ("writes-old", o => o.Producer.NewWeight = 0, [ClusterRole.Old]),
                ("writes-new", o => o.Producer.NewWeight = 100, [ClusterRole.New]),
                ("mirrors", o => o.Producer.Mirror = true, [ClusterRole.Old, ClusterRole.New]),
            };
            foreach (var (name, configure, clusters) in writers)
            {
                var node = await StartNodeAsync(old, @new, runId, name, settled, configure, dual => dual.AddProducer());
                hosts.Add(node);
                var producer = node.Services.GetRequiredService<IDualClusterProducer>();
                for (var i = 0; i < 5; i++)
                {
                    var key = $"{runId}-{name}-{i.ToString(CultureInfo.InvariantCulture)}";
                    var result = await producer.SendAsync(new OutgoingMessage(old.Topic, Encoding.UTF8.GetBytes("body of " + key)) { IdempotencyKey = key });
                    Assert.Equal(clusters[0], result.Cluster);
                    Assert.Equal(clusters.Length > 1 ? clusters[1] : null, result.MirrorReceipt?.Cluster);
                    expected[key] = clusters;
                }
            }

            await WaitUntilAsync(
                () => Task.FromResult(expected.All(e => e.Value.All(c => IsAck(settled, e.Key, c)))),
                () => Task.FromResult($"every copy is delivered and settled: {settled.Count(e => e.Value.Acknowledge)} of {expected.Sum(e => e.Value.Length)} acknowledged, {handled.Count} of {expected.Count} handled"),
                Timeout);
            foreach (var (key, clusters) in expected)
            {
                Assert.True(handled.TryGetValue(key, out var times) && times == 1, $"{key} handled {(handled.TryGetValue(key, out var n) ? n : 0)} times");
                Assert.Equal(clusters.Order(), settled.Keys.Where(k => k.Key == key).Select(k => k.Cluster).Order());
            }
        }
        finally
        {
            foreach (var host in hosts)
            {
                await host.StopAsync();
                host.Dispose();
            }
        }
    }

    /// <summary>
    /// A node of the smoke test: Old and New from the live settings, DoubleRead (so any producer setting passes the
    /// guard), idempotency on, its transports run-scoped (the factories <c>UseRocketMQ()</c> registers, wrapped).
    /// </summary>
    private static async Task<IHost> StartNodeAsync(
        LiveCluster old, LiveCluster @new, string runId, string name,
        ConcurrentDictionary<(string Key, ClusterRole Cluster), ConsumeOutcome> settled,
        Action<DualClusterOptions> configure, Action<DualClusterBuilder> register)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        var dual = builder.Services.AddDualCluster(o =>
            {
                o.NodeId = $"dualcluster-{runId}-{name}";
                o.Clusters.Old = old.CopyOptions();
                o.Clusters.New = @new.CopyOptions();
                o.Consumer.DoubleRead = true;
                o.Idempotency.HeldElsewhereRetryDelay = TimeSpan.FromMilliseconds(200);
                configure(o);
            })
            .UseRocketMQ();
        register(dual);
        foreach (var descriptor in builder.Services.Where(d => d.ServiceType == typeof(IClusterTransportFactory)).ToList())
        {
            builder.Services.Remove(descriptor);
            dual.AddTransportFactory(new RunScopedTransportFactory(
                (IClusterTransportFactory)descriptor.ImplementationInstance!, runId, (m, outcome) => settled[(m.IdempotencyKey!, m.Cluster)] = outcome));
        }

        var host = builder.Build();
        try
        {
            await host.StartAsync();
            return host;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>The check's subscription: every tag, the cluster's invisible duration.</summary>
    public static ConsumerSubscription Subscribe(LiveCluster cluster) =>
        new(cluster.Group, cluster.Topic) { InvisibleDuration = cluster.InvisibleDuration, MaxConcurrency = 4 };

    private static async Task<IClusterConsumer> StartAsync(RunScopedTransport transport, LiveCluster cluster, ClusterMessageHandler handler)
    {
        var consumer = transport.CreateConsumer(Subscribe(cluster), handler);
        await consumer.StartAsync();
        return consumer;
    }

    private static ClusterMessageHandler Acking(ReceivedLog log) => (m, _) =>
    {
        log.Add(m);
        return new(ConsumeOutcome.Ack);
    };

    private static string Key(RunScopedTransport transport, string name) => transport.RunId + "-" + name;

    private static OutgoingMessage Message(LiveCluster cluster, string key, string? tag = null) =>
        new(cluster.Topic, Encoding.UTF8.GetBytes("body of " + key)) { IdempotencyKey = key, Tag = tag };

    private static int Distinct(IReadOnlyList<ReceivedMessage> messages) => messages.Select(m => m.IdempotencyKey).Distinct().Count();

    /// <summary>Nothing ready, retrying or in flight for the group (delayed messages are brokers-wide on 4.x, so not asked).</summary>
    private static bool IsEmpty(BacklogReport report) => report is { Ready: 0, Retry: 0, InFlight: 0 };

    private static bool IsAck(ConcurrentDictionary<(string Key, ClusterRole Cluster), ConsumeOutcome> settled, string key, ClusterRole cluster) =>
        settled.TryGetValue((key, cluster), out var outcome) && outcome.Acknowledge;

    /// <summary>Polls <paramref name="condition"/> every 100 ms until it holds; fails with <paramref name="describe"/> after <paramref name="timeout"/>.</summary>
    private static async Task WaitUntilAsync(Func<Task<bool>> condition, Func<Task<string>> describe, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("Timed out waiting until " + await describe());
            }

            await Task.Delay(100);
        }
    }
}
