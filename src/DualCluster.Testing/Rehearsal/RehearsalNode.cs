using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using DualCluster.Transport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DualCluster.Testing;

/// <summary>
/// One application node of the rehearsal fleet: its own host (DI container), configuration, clock and
/// DualCluster registration — a producer or a consumer. <see cref="CrashAsync"/> kills it the way a process dies:
/// no graceful stop, in-flight handlers never finish, nothing is acked, released or completed any more, its
/// timers stop and it hears no configuration change. A crash lands mid-handler: a handler whose effect is already
/// committed finishes completing its claim first (the window between an effect and the store's completion is the
/// documented at-least-once residue that only a completion inside the handler's own transaction closes; the
/// rehearsal does not count it against the library). Over a wire protocol (<see cref="RehearsalOptions.Clusters"/>)
/// a crash also stops the node's consumers without waiting, as closed connections would: they fetch nothing more,
/// while the handlers in flight stay hung (a transport whose stop still commits or unregisters later is a poorer
/// model of a dead process; see RocketMQRehearsalClusters).
/// </summary>
internal sealed class RehearsalNode : IAsyncDisposable
{
    private readonly RehearsalRun _run;
    private readonly NodeClock _clock;
    private readonly IDisposable _attachment;
    private readonly CancellationTokenSource _teardown = new();
    private IHost? _host;
    private IDualClusterStatus? _status;
    private static readonly AsyncLocal<CommitSection?> Section = new();
    private volatile bool _dead;
    private int _dying;
    private int _committing;
    private int _disposed;
    private readonly ConcurrentBag<IClusterConsumer> _consumers = [];
    private readonly List<Task> _abandoned = [];

    private RehearsalNode(RehearsalRun run, string id, bool consumer, NodeClock clock, IDisposable attachment)
    {
        _run = run;
        Id = id;
        IsConsumer = consumer;
        _clock = clock;
        _attachment = attachment;
    }

    public string Id { get; }

    public bool IsConsumer { get; }

    public bool IsDead => _dead;

    public TimeSpan ClockOffset => _clock.Offset;

    public NodeStatus Status => _status!.GetStatus();

    public static async Task<RehearsalNode> StartAsync(RehearsalRun run, string id, bool consumer, CancellationToken cancellationToken)
    {
        var clock = new NodeClock(TimeProvider.System, run.ClockOffsetOf(id));
        var (configuration, attachment) = run.Fleet.ForNode(id);
        var node = new RehearsalNode(run, id, consumer, clock, attachment);
        try
        {
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Configuration.AddConfiguration(configuration);
            builder.Logging.ClearProviders();
            run.Options.ConfigureLogging?.Invoke(builder.Logging);
            builder.Services.AddSingleton<TimeProvider>(clock);
            var transport = run.TransportOptions;
            var dual = builder.Services.AddDualCluster(builder.Configuration.GetSection(DualClusterOptions.SectionName))
                .UseIdempotencyStore(_ => new RehearsalStore(run.Store, run.StoreOutage, () => node.IsDead));
            if (run.FleetRegistry is { } registry)
            {
                dual.UseFleetRegistry(_ => new NodeFleetRegistry(registry, node, run.RegistryOutage));
            }

            if (run.Options.Clusters is { } clusters)
            {
                // The core picks and validates each cluster's transport from the configured protocol, as in production;
                // every factory is wrapped so that its transports are seen through the node (a crash holds their deliveries).
                clusters.ConfigureNode(dual);
                var services = builder.Services;
                for (var i = 0; i < services.Count; i++)
                {
                    if (services[i].ServiceType == typeof(IClusterTransportFactory))
                    {
                        var factory = services[i].ImplementationInstance as IClusterTransportFactory
                            ?? throw new InvalidOperationException(
                                $"{clusters.GetType().Name}.ConfigureNode must register transport factories as instances (DualClusterBuilder.AddTransportFactory).");
                        services[i] = ServiceDescriptor.Singleton<IClusterTransportFactory>(new NodeTransportFactory(factory, node));
                    }
                }
            }
            else
            {
                dual.UseTransport(ClusterRole.Old, _ => new NodeTransport(new InMemoryClusterTransport(run.Old, ClusterRole.Old, transport), node))
                    .UseTransport(ClusterRole.New, _ => new NodeTransport(new InMemoryClusterTransport(run.New, ClusterRole.New, transport), node));
            }

            if (consumer)
            {
                dual.AddConsumer(run.Group, run.Options.Topic, node.HandleAsync, o =>
                {
                    o.MaxConcurrency = run.Options.ConsumerConcurrency;
                    o.InvisibleDuration = run.Options.InvisibleDuration;
                });
            }
            else
            {
                dual.AddProducer();
            }

            run.Options.ConfigureNode?.Invoke(dual);
            node._host = builder.Build();
            node._status = node._host.Services.GetRequiredService<IDualClusterStatus>();
            await node._host.StartAsync(cancellationToken).ConfigureAwait(false);
            return node;
        }
        catch
        {
            await node.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Sends messages until the traffic is exhausted (or cancelled), <paramref name="concurrency"/> at a time.</summary>
    public Task RunTrafficAsync(int concurrency, CancellationToken cancellationToken)
    {
        var producer = _host!.Services.GetRequiredService<IDualClusterProducer>();
        var loops = new Task[concurrency];
        for (var i = 0; i < loops.Length; i++)
        {
            loops[i] = Task.Run(() => SendLoopAsync(producer, cancellationToken), CancellationToken.None);
        }

        return Task.WhenAll(loops);
    }

    private async Task SendLoopAsync(IDualClusterProducer producer, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested && _run.Traffic.TryTake(out var sequence, out var due))
        {
            await _run.Traffic.WaitAllowedAsync(sequence, cancellationToken).ConfigureAwait(false);
            var wait = due - _run.Traffic.Elapsed;
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            }

            var body = new byte[RehearsalRun.BodySize];
            BinaryPrimitives.WriteInt64LittleEndian(body, sequence);
            BinaryPrimitives.WriteInt64LittleEndian(body.AsSpan(8), Stopwatch.GetTimestamp());
            var message = new OutgoingMessage(_run.Options.Topic, body) { Tag = "rehearsal" };
            try
            {
                var result = await producer.SendAsync(message, cancellationToken).ConfigureAwait(false);
                _run.Ledger.RecordSent(sequence, result.Cluster, result.IdempotencyKey);
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                // The application is told the send failed; a real one would alert or retry with the same key.
                _run.Ledger.RecordSendFailed(sequence);
            }
        }
    }

    private async Task HandleAsync(MessageContext context, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var body = context.Message.Body.Span;
        var sequence = BinaryPrimitives.ReadInt64LittleEndian(body);
        var sentAt = BinaryPrimitives.ReadInt64LittleEndian(body[8..]);
        await _run.BeforeHandlerAsync(context, sequence, cancellationToken).ConfigureAwait(false);
        if (_run.Options.Handler is { } handler)
        {
            await handler(context, cancellationToken).ConfigureAwait(false);
        }

        // From here to the claim's completion the effect and its record go together (see the type's remarks).
        Interlocked.Increment(ref _committing);
        if (Volatile.Read(ref _dying) == 1)
        {
            // The process died in the middle of this handler: its effect never commits.
            Interlocked.Decrement(ref _committing);
            await HangAsync().ConfigureAwait(false);
        }

        if (Section.Value is { } section)
        {
            section.Entered = true;
        }

        _run.HandlerLatency.Record(Stopwatch.GetElapsedTime(started));
        _run.Ledger.RecordHandled(
            sequence,
            context.Message.Cluster,
            Stopwatch.GetElapsedTime(sentAt),
            string.Create(CultureInfo.InvariantCulture, $"{_run.Traffic.Elapsed.TotalMilliseconds:0} ms: {Id} from {context.Message.Cluster} attempt {context.Message.DeliveryAttempt} key {context.IdempotencyKey} token {context.FencingToken} message {context.Message.MessageId}"));
    }

    /// <summary>Never returns until the rehearsal tears the fleet down (then throws).</summary>
    internal async Task HangAsync()
    {
        await Task.Delay(Timeout.Infinite, _teardown.Token).ConfigureAwait(false);
    }

    private bool IsDying => Volatile.Read(ref _dying) == 1;

    /// <summary>Kills the node: see the type's remarks.</summary>
    public async Task CrashAsync()
    {
        Interlocked.Exchange(ref _dying, 1);
        var waited = Stopwatch.StartNew();
        while (Volatile.Read(ref _committing) > 0 && waited.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(1).ConfigureAwait(false);
        }

        _dead = true;
        _clock.Stop();
        _attachment.Dispose();
        if (_run.Options.Clusters is not null)
        {
            // Over a wire protocol a dead process's connections close: its consumers fetch nothing more and, for
            // 4.x, the broker rebalances its queues. Stopping them with no time to wait models that: they stop
            // fetching and let go of their queues; the handlers in flight stay hung, unsettled.
            foreach (var consumer in _consumers)
            {
                _abandoned.Add(AbandonAsync(consumer));
            }
        }
    }

    private static async Task AbandonAsync(IClusterConsumer consumer)
    {
        try
        {
            await consumer.StopAsync(new CancellationToken(canceled: true)).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // A dead process reports nothing.
        }
    }

    /// <summary>Stops the node gracefully (a planned leave, as in a rolling deployment).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _attachment.Dispose();
        if (_host is not null)
        {
            await _host.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _attachment.Dispose();
        await _teardown.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_abandoned).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_host is not null)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _host.StopAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Forced: whatever still runs is abandoned.
            }

            _host.Dispose();
        }

        _teardown.Dispose();
    }

    /// <summary>The node's view of a cluster: once the node is dead, every delivery that reaches it hangs unsettled.</summary>
    private sealed class NodeTransport(IClusterTransport inner, RehearsalNode node) : IClusterTransport
    {
        public ClusterRole Role => inner.Role;

        public IClusterProducer Producer => inner.Producer;

        public IConsumerGroupProbe? GroupProbe => inner.GroupProbe;

        public IBacklogProbe BacklogProbe
        {
            get
            {
                var run = node._run;
                var probe = inner.BacklogProbe;
                if (run.Options.Clusters?.OperatorReadsBacklogFromConsole(Role) == true)
                {
                    probe = new ConsoleBacklogProbe(probe, run.Broker(Role), Role);
                }

                return run.Options.BacklogProbe?.Invoke(probe) ?? probe;
            }
        }

        public IClusterConsumer CreateConsumer(ConsumerSubscription subscription, ClusterMessageHandler handler)
        {
            var consumer = inner.CreateConsumer(subscription, async (message, cancellationToken) =>
            {
                if (node.IsDying)
                {
                    await node.HangAsync().ConfigureAwait(false);
                }

                var section = new CommitSection();
                Section.Value = section;
                ConsumeOutcome outcome;
                try
                {
                    outcome = await handler(message, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    if (section.Entered)
                    {
                        Interlocked.Decrement(ref node._committing);
                    }
                }

                if (node.IsDying)
                {
                    // Died while the gate was finishing: a dead process neither acks nor gives the message back.
                    await node.HangAsync().ConfigureAwait(false);
                }

                return outcome;
            });
            node._consumers.Add(consumer);
            return consumer;
        }

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    /// <summary>A transport factory whose transports are seen through the node.</summary>
    private sealed class NodeTransportFactory(IClusterTransportFactory inner, RehearsalNode node) : IClusterTransportFactory
    {
        public string Protocol => inner.Protocol;

        public IClusterTransport Create(ClusterRole role, ClusterOptions options, IServiceProvider services) =>
            new NodeTransport(inner.Create(role, options, services), node);

        public IEnumerable<string> Validate(ClusterRole role, ClusterOptions options) => inner.Validate(role, options);
    }

    /// <summary>Set by the handler once its effect is committed (flows to it through the async context).</summary>
    private sealed class CommitSection
    {
        public bool Entered { get; set; }
    }
}
