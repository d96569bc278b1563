using System.Threading.Channels;
using DualCluster.Transport;

namespace DualCluster.Testing;

/// <summary>
/// A push consumer over the broker's pop model: one fetch loop receives batches (never more than free handler
/// slots), <see cref="ConsumerSubscription.MaxConcurrency"/> workers run the handler and settle each message
/// (ack, or change its invisible duration to retry). Each start creates a fresh <see cref="Run"/>.
/// </summary>
internal sealed class InMemoryClusterConsumer : IClusterConsumer
{
    private readonly InMemoryBroker broker;
    private readonly ClusterRole role;
    private readonly ConsumerSubscription subscription;
    private readonly ClusterMessageHandler handler;
    private readonly InMemoryTransportOptions options;
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private Run? _run;

    public InMemoryClusterConsumer(
        InMemoryBroker broker,
        ClusterRole role,
        ConsumerSubscription subscription,
        ClusterMessageHandler handler,
        InMemoryTransportOptions options)
    {
        this.broker = broker;
        this.role = role;
        this.subscription = subscription;
        this.handler = handler;
        this.options = options;
    }

    public ConsumerSubscription Subscription => subscription;

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_run is not null)
            {
                return;
            }

            try
            {
                broker.Faults.ThrowIfPaused("subscribe");
                broker.ConfigureGroup(subscription.Group, maxDeliveryAttempts: subscription.MaxDeliveryAttempts);
                broker.Subscribe(subscription.Group, subscription.Topic);
            }
            catch (InMemoryBrokerException e)
            {
                throw InMemoryClusterTransport.Map(role, e, subscription.Topic);
            }

            _run = new Run(this);
            _run.Start();
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            var run = _run;
            _run = null;
            if (run is not null)
            {
                await run.StopAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(options.DisposeTimeout);
        await StopAsync(timeout.Token).ConfigureAwait(false);
    }

    /// <summary>One start–stop cycle.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage(
        "Reliability",
        "CA1001:Types that own disposable fields should be disposable",
        Justification = "A forced stop leaves handlers running with the token; the sources hold no timers, so the GC reclaims them.")]
    private sealed class Run
    {
        private readonly InMemoryClusterConsumer _owner;
        private readonly CancellationTokenSource _fetchStop = new();
        private readonly CancellationTokenSource _handlerStop = new();
        private readonly SemaphoreSlim _slots;
        private readonly Channel<PopDelivery> _work;
        private readonly int _batchSize;
        private Task _all = Task.CompletedTask;
        private volatile bool _stopping;

        public Run(InMemoryClusterConsumer owner)
        {
            _owner = owner;
            var concurrency = owner.Subscription.MaxConcurrency;
            _slots = new SemaphoreSlim(concurrency, concurrency);
            _batchSize = Math.Min(owner.options.ReceiveBatchSize, concurrency);
            _work = Channel.CreateUnbounded<PopDelivery>(new UnboundedChannelOptions { SingleWriter = true, AllowSynchronousContinuations = false });
        }

        public void Start()
        {
            var tasks = new Task[_owner.Subscription.MaxConcurrency + 1];
            tasks[0] = Task.Run(FetchLoopAsync);
            for (var i = 1; i < tasks.Length; i++)
            {
                tasks[i] = Task.Run(WorkerAsync);
            }

            _all = Task.WhenAll(tasks);
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            _stopping = true;
            await _fetchStop.CancelAsync().ConfigureAwait(false);
            try
            {
                await _all.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Forced: handlers still running are told to stop; whatever they return is ignored, so their
                // messages are never acked here and the broker redelivers them after their invisible duration.
                await _handlerStop.CancelAsync().ConfigureAwait(false);
            }
        }

        private async Task FetchLoopAsync()
        {
            var owner = _owner;
            var sub = owner.Subscription;
            var token = _fetchStop.Token;
            var batch = new List<PopDelivery>(_batchSize);
            try
            {
                while (!token.IsCancellationRequested)
                {
                    await _slots.WaitAsync(token).ConfigureAwait(false);
                    var slots = 1;
                    while (slots < _batchSize && _slots.Wait(0))
                    {
                        slots++;
                    }

                    int received;
                    try
                    {
                        received = await owner.broker.ReceiveIntoAsync(
                            batch, sub.Group, sub.Topic, slots, sub.InvisibleDuration, owner.options.PollTimeout, sub.FilterExpression, token).ConfigureAwait(false);
                    }
                    catch (InMemoryBrokerException)
                    {
                        _slots.Release(slots);
                        await Task.Delay(owner.options.FetchErrorDelay, owner.broker.TimeProvider, token).ConfigureAwait(false);
                        continue;
                    }
                    catch (OperationCanceledException)
                    {
                        _slots.Release(slots);
                        throw;
                    }

                    if (received < slots)
                    {
                        _slots.Release(slots - received);
                    }

                    foreach (var delivery in batch)
                    {
                        _work.Writer.TryWrite(delivery);
                    }

                    batch.Clear();
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                // Stopping.
            }
            finally
            {
                _work.Writer.TryComplete();
            }
        }

        private async Task WorkerAsync()
        {
            var reader = _work.Reader;
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var delivery))
                {
                    try
                    {
                        var pending = ProcessAsync(delivery);
                        if (!pending.IsCompletedSuccessfully)
                        {
                            await pending.ConfigureAwait(false);
                        }
                    }
                    finally
                    {
                        _slots.Release();
                    }
                }
            }
        }

        private async ValueTask ProcessAsync(PopDelivery delivery)
        {
            var owner = _owner;
            var broker = owner.broker;
            if (_stopping)
            {
                // Fetched but not handled: hand it back so the broker delivers it again at once.
                Settle(broker, delivery, TimeSpan.Zero);
                return;
            }

            var crash = broker.Faults.TryTakeConsumerCrash();
            var token = _handlerStop.Token;
            ConsumeOutcome outcome;
            try
            {
                var message = delivery.Message.ToReceivedMessage(owner.role, delivery.DeliveryAttempt);
                var handling = owner.handler(message, token);
                outcome = handling.IsCompletedSuccessfully ? handling.Result : await handling.ConfigureAwait(false);
            }
            catch (Exception)
            {
                outcome = ConsumeOutcome.Retry();
            }

            if (crash || token.IsCancellationRequested)
            {
                // A crashed consumer settles nothing; a forced stop ignores outcomes. The broker redelivers
                // the message once its invisible duration passes.
                return;
            }

            if (outcome.Acknowledge)
            {
                try
                {
                    broker.Ack(delivery);
                }
                catch (InMemoryBrokerException)
                {
                    // The cluster refused the ack (paused): the message is redelivered; the idempotency gate absorbs it.
                }
            }
            else
            {
                Settle(broker, delivery, outcome.RetryDelay ?? owner.options.RetryBackoff(delivery.DeliveryAttempt));
            }
        }

        private static void Settle(InMemoryBroker broker, PopDelivery delivery, TimeSpan redeliverAfter)
        {
            try
            {
                broker.ChangeInvisibleDuration(delivery, redeliverAfter);
            }
            catch (InMemoryBrokerException)
            {
                // Refused (paused): the message comes back after its original invisible duration instead.
            }
        }
    }
}
