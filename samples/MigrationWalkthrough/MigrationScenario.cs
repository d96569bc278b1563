using System.Buffers.Binary;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using DualCluster;
using DualCluster.Idempotency;
using DualCluster.Routing;
using DualCluster.Testing;
using DualCluster.Transport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MigrationWalkthrough;

/// <summary>Settings of one walkthrough run.</summary>
internal sealed record ScenarioOptions
{
    public int Messages { get; init; } = 20_000;

    public int Seed { get; init; } = 1;

    public int ProducerNodes { get; init; } = 6;

    public int ConsumerNodes { get; init; } = 6;

    /// <summary>Probability that a broker loses an ack (the message is redelivered and must be deduplicated).</summary>
    public double AckLoss { get; init; } = 0.005;

    /// <summary>Sends that time out after the broker stored them, per step from step 3 on (the retry stores a second copy).</summary>
    public int StoredThenTimedOutSends { get; init; } = 5;

    public TimeSpan StepTimeout { get; init; } = TimeSpan.FromSeconds(90);
}

/// <summary>What one step did.</summary>
internal sealed record StepReport(
    int Step,
    string Title,
    string Settings,
    long SentOld,
    long SentNew,
    long HandledOld,
    long HandledNew,
    long DuplicatesSuppressed,
    long BacklogOld,
    long BacklogNew,
    int ProducersOnNew,
    int ConsumersReadingNew,
    int ConsumersReadingOld,
    int Draining,
    long RejectedReloads,
    string? Note);

/// <summary>The verdict of a run.</summary>
internal sealed record ScenarioResult(
    long Sent,
    long ConsumedUnique,
    long Lost,
    long DuplicateEffects,
    long DuplicatesSuppressed,
    long RejectedReloads,
    string? RejectionExample,
    IReadOnlyList<StepReport> Steps,
    TimeSpan Elapsed)
{
    public bool Passed => Lost == 0 && DuplicateEffects == 0 && Sent > 0;
}

/// <summary>
/// Walks a simulated fleet — separate hosts (DI containers) per node, each with its own configuration —
/// through the five migration steps on two in-memory clusters, with continuous traffic, broker faults
/// that produce duplicates, and one unsafe reload that the guard must reject.
/// </summary>
#pragma warning disable CA1001 // _store is disposed at the end of the one RunAsync call
internal sealed class MigrationScenario(ScenarioOptions options)
#pragma warning restore CA1001
{
    public const string Topic = "order-events";
    public const string GroupPrefix = "order-service";

    private readonly Ledger _ledger = new();
    private readonly FleetConfiguration _fleet = new();
    private readonly InMemoryIdempotencyStore _store = new(); // disposed at the end of RunAsync
    private readonly List<Node> _producers = [];
    private readonly List<Node> _consumers = [];
    private readonly string _group = $"{GroupPrefix}-{Guid.NewGuid():N}"[..32];
    private long _duplicatesSuppressed;
    private long _sequence;

    public async Task<ScenarioResult> RunAsync(Action<StepReport>? onStep = null, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        using var meters = ListenToDuplicates();
        var old = new InMemoryBroker(new InMemoryBrokerOptions { Name = "old", Seed = options.Seed });
        var @new = new InMemoryBroker(new InMemoryBrokerOptions { Name = "new", Seed = options.Seed + 1 });
        old.Faults.AckLossProbability = options.AckLoss;
        @new.Faults.AckLossProbability = options.AckLoss;

        var steps = new List<StepReport>();
        string? rejection = null;
        try
        {
            _fleet.Apply(Settings(producerWeight: 0, consumerWeight: 0));
            foreach (var id in PickNodeIds("producer", options.ProducerNodes))
            {
                _producers.Add(await Node.StartAsync(id, _fleet, old, @new, _store, consumer: false, _ledger, _group, cancellationToken));
            }

            foreach (var id in PickNodeIds("consumer", options.ConsumerNodes))
            {
                _consumers.Add(await Node.StartAsync(id, _fleet, old, @new, _store, consumer: true, _ledger, _group, cancellationToken));
            }

            var perStep = Math.Max(1, options.Messages / 5);
            var plan = new (int Step, string Title, int Producer, int Consumer)[]
            {
                (1, "Everything on Old; DualCluster deployed", 0, 0),
                (2, "Some consumers read New", 0, 50),
                (3, "Some producers write New", 50, 50),
                (4, "All producers write New", 100, 50),
                (5, "Old drained; last consumers leave it", 100, 100),
            };

            foreach (var (step, title, producerWeight, consumerWeight) in plan)
            {
                var settings = Settings(producerWeight, consumerWeight);
                string? note = null;
                if (step == 1)
                {
                    // The guard at work: moving producers before any consumer reads New is refused on every node.
                    _fleet.Apply(Settings(producerWeight: 30, consumerWeight: 0));
                    await WaitAsync(() => _producers.Concat(_consumers).All(n => n.Status.RejectedReloads > 0), "every node rejected the unsafe reload", cancellationToken);
                    rejection = _producers[0].Status.LastRejectedReload?.Errors is { Count: > 0 } errors ? errors[0] : null;
                    note = "rejected: Producer:NewWeight=30 while Consumer:NewWeight=0";
                }

                _fleet.Apply(settings);
                await WaitForRoutingAsync(settings, cancellationToken);
                if (step >= 3)
                {
                    (step % 2 == 0 ? @new : old).Faults.FailNextSendsAfterStoring(options.StoredThenTimedOutSends);
                }

                await SendAsync(step == 5 ? options.Messages - (perStep * 4) : perStep, cancellationToken);
                await WaitAsync(() => _ledger.Outstanding == 0, "every sent message was handled", cancellationToken);
                if (step == 5)
                {
                    await WaitAsync(() => _consumers.All(c => c.Status.Consumers.All(s => s.Phase == ConsumerPhase.New)), "every consumer drained Old and left it", cancellationToken);
                }

                var report = Report(step, title, producerWeight, consumerWeight, old, @new, note);
                steps.Add(report);
                onStep?.Invoke(report);
            }
        }
        finally
        {
            foreach (var node in _producers.Concat(_consumers))
            {
                await node.DisposeAsync();
            }

            _store.Dispose();
        }

        return new ScenarioResult(
            _ledger.Sent,
            _ledger.ConsumedUnique,
            _ledger.Lost,
            _ledger.DuplicateEffects,
            Interlocked.Read(ref _duplicatesSuppressed),
            steps.Count == 0 ? 0 : steps[^1].RejectedReloads,
            rejection,
            steps,
            clock.Elapsed);
    }

    private static Dictionary<string, string?> Settings(int producerWeight, int consumerWeight) => new()
    {
        ["DualCluster:Clusters:Old:Protocol"] = "InMemory",
        ["DualCluster:Clusters:New:Protocol"] = "InMemory",
        ["DualCluster:Producer:NewWeight"] = producerWeight.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["DualCluster:Consumer:NewWeight"] = consumerWeight.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["DualCluster:Consumer:DrainCheckInterval"] = "00:00:00.200",
        ["DualCluster:Idempotency:HeldElsewhereRetryDelay"] = "00:00:00.200",
        ["DualCluster:ReloadDebounce"] = "00:00:00",
    };

    /// <summary>Node ids chosen so that half of them sit below bucket 50: a weight of 50 then moves exactly half the fleet.</summary>
    private static IEnumerable<string> PickNodeIds(string prefix, int count)
    {
        var low = Enumerable.Range(1, 10_000).Select(i => $"{prefix}-{i}").Where(id => NodeBucket.Compute(id) < 50).Take(count / 2);
        var high = Enumerable.Range(1, 10_000).Select(i => $"{prefix}-{i}").Where(id => NodeBucket.Compute(id) >= 50).Take(count - (count / 2));
        return low.Concat(high).OrderBy(id => int.Parse(id[(prefix.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }

    private async Task SendAsync(int count, CancellationToken cancellationToken)
    {
        var perNode = count / _producers.Count;
        var tasks = _producers.Select((node, index) =>
        {
            var share = index == _producers.Count - 1 ? count - (perNode * (_producers.Count - 1)) : perNode;
            return Task.Run(() => node.SendAsync(share, () => Interlocked.Increment(ref _sequence), _ledger, cancellationToken), cancellationToken);
        });
        await Task.WhenAll(tasks);
    }

    private async Task WaitForRoutingAsync(Dictionary<string, string?> settings, CancellationToken cancellationToken)
    {
        var bound = new DualClusterOptions();
        new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("DualCluster").Bind(bound);
        await WaitAsync(
            () => _producers.Concat(_consumers).All(n =>
            {
                var expected = RoutingPlan.For(n.Id, bound);
                var status = n.Status;
                return status.ProducerTarget == expected.ProducerTarget && status.ConsumerTargets == expected.ConsumerTargets
                    && status.Consumers.All(c => c.Reading.HasFlag(expected.ConsumerTargets));
            }),
            "every node applied the new routing",
            cancellationToken);
    }

    private async Task WaitAsync(Func<bool> condition, string what, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > options.StepTimeout)
            {
                throw new TimeoutException($"Timed out after {options.StepTimeout} waiting until {what}.");
            }

            await Task.Delay(20, cancellationToken);
        }
    }

    private StepReport Report(int step, string title, int producerWeight, int consumerWeight, InMemoryBroker old, InMemoryBroker @new, string? note)
    {
        var consumerStatuses = _consumers.SelectMany(c => c.Status.Consumers).ToArray();
        return new StepReport(
            step,
            title,
            $"Producer:NewWeight={producerWeight} Consumer:NewWeight={consumerWeight}",
            _ledger.SentOld,
            _ledger.SentNew,
            _ledger.HandledOld,
            _ledger.HandledNew,
            Interlocked.Read(ref _duplicatesSuppressed),
            old.GetBacklog(_group, Topic).KnownTotal,
            @new.GetBacklog(_group, Topic).KnownTotal,
            _producers.Count(p => p.Status.ProducerTarget == ClusterRole.New),
            consumerStatuses.Count(s => s.Reading.Contains(ClusterRole.New)),
            consumerStatuses.Count(s => s.Reading.Contains(ClusterRole.Old)),
            consumerStatuses.Count(s => s.Phase == ConsumerPhase.Draining),
            _producers.Concat(_consumers).Sum(n => n.Status.RejectedReloads),
            note);
    }

    private MeterListener ListenToDuplicates()
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == DualCluster.Telemetry.DualClusterTelemetry.Name && instrument.Name == "dualcluster.messages.duplicates")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            // The meter is process-wide: count only this scenario's fleet.
            foreach (var tag in tags)
            {
                if (tag.Key == "group" && tag.Value as string == _group)
                {
                    Interlocked.Add(ref _duplicatesSuppressed, value);
                }
            }
        });
        listener.Start();
        return listener;
    }

    /// <summary>One application node: its own host, configuration and DualCluster registration.</summary>
    private sealed class Node : IAsyncDisposable
    {
        private readonly IHost _host;
        private readonly IDualClusterStatus _status;

        private Node(string id, IHost host)
        {
            Id = id;
            _host = host;
            _status = host.Services.GetRequiredService<IDualClusterStatus>();
        }

        public string Id { get; }

        public NodeStatus Status => _status.GetStatus();

        public static async Task<Node> StartAsync(string id, FleetConfiguration fleet, InMemoryBroker old, InMemoryBroker @new, IIdempotencyStore store, bool consumer, Ledger ledger, string group, CancellationToken cancellationToken)
        {
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Configuration.AddConfiguration(fleet.ForNode(id));
            builder.Logging.ClearProviders();
            var dual = builder.Services.AddDualCluster(builder.Configuration.GetSection("DualCluster"))
                .UseInMemoryBrokers(old, @new)
                .UseIdempotencyStore(_ => store);
            if (consumer)
            {
                dual.AddConsumer(group, Topic, (context, _) =>
                {
                    ledger.RecordHandled(BinaryPrimitives.ReadInt64LittleEndian(context.Message.Body.Span), context.Message.Cluster);
                    return Task.CompletedTask;
                }, o =>
                {
                    o.MaxConcurrency = 8;
                    o.InvisibleDuration = TimeSpan.FromSeconds(1);
                });
            }
            else
            {
                dual.AddProducer();
            }

            var host = builder.Build();
            await host.StartAsync(cancellationToken);
            return new Node(id, host);
        }

        public async Task SendAsync(int count, Func<long> nextSequence, Ledger ledger, CancellationToken cancellationToken)
        {
            var producer = _host.Services.GetRequiredService<IDualClusterProducer>();
            const int InFlight = 8;
            var pending = new List<Task>(InFlight);
            for (var i = 0; i < count; i++)
            {
                pending.Add(SendOneAsync(producer, nextSequence(), ledger, cancellationToken));
                if (pending.Count == InFlight)
                {
                    await Task.WhenAll(pending);
                    pending.Clear();
                }
            }

            await Task.WhenAll(pending);
        }

        private static async Task SendOneAsync(IDualClusterProducer producer, long sequence, Ledger ledger, CancellationToken cancellationToken)
        {
            var body = new byte[64];
            BinaryPrimitives.WriteInt64LittleEndian(body, sequence);
            var result = await producer.SendAsync(new OutgoingMessage(Topic, body) { Tag = "created" }, cancellationToken);
            ledger.RecordSent(sequence, result.Cluster);
        }

        public async ValueTask DisposeAsync()
        {
            await _host.StopAsync();
            _host.Dispose();
        }
    }
}
