using DualCluster.Transport;

namespace DualCluster.Testing;

/// <summary>
/// A push consumer over the broker's pop model: one fetch loop receives batches (never more than the core
/// <see cref="ConsumeDispatcher{TDelivery}"/> has room for), the dispatcher runs the handler with
/// <see cref="ConsumerSubscription.MaxConcurrency"/> workers, and this consumer settles each outcome (ack, or change
/// the invisible duration to retry, or to hand back at once). Each start creates a fresh <see cref="Run"/>.
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
    private bool _positioned;

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

    /// <summary>True once the subscription was made: the broker then holds the group's offsets on every queue.</summary>
    public bool IsPositioned => Volatile.Read(ref _positioned);

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
                Volatile.Write(ref _positioned, true);
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

    /// <summary>One start–stop cycle: a fetch loop over the broker's pop model feeding the core dispatcher.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage(
        "Reliability",
        "CA1001:Types that own disposable fields should be disposable",
        Justification = "The fetch token source holds no timer; the GC reclaims it.")]
    private sealed class Run : IDeliverySettler<PopDelivery>
    {
        private readonly InMemoryClusterConsumer _owner;
        private readonly CancellationTokenSource _fetchStop = new();
        private readonly ConsumeDispatcher<PopDelivery> _dispatcher;
        private readonly int _batchSize;
        private Task _fetch = Task.CompletedTask;

        public Run(InMemoryClusterConsumer owner)
        {
            _owner = owner;
            var concurrency = owner.Subscription.MaxConcurrency;
            _batchSize = Math.Min(owner.options.ReceiveBatchSize, concurrency);
            _dispatcher = new ConsumeDispatcher<PopDelivery>(
                owner.handler,
                this,
                d => d.Message.ToReceivedMessage(owner.role, d.DeliveryAttempt),
                concurrency);
        }

        public void Start()
        {
            _dispatcher.Start();
            _fetch = Task.Run(FetchLoopAsync);
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            await _fetchStop.CancelAsync().ConfigureAwait(false);
            await _fetch.ConfigureAwait(false);
            await _dispatcher.StopAsync(cancellationToken).ConfigureAwait(false);
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
                    var room = await _dispatcher.AcquireAsync(_batchSize, token).ConfigureAwait(false);
                    int received;
                    try
                    {
                        received = await owner.broker.ReceiveIntoAsync(
                            batch, sub.Group, sub.Topic, room, sub.InvisibleDuration, owner.options.PollTimeout, sub.FilterExpression, token).ConfigureAwait(false);
                    }
                    catch (InMemoryBrokerException)
                    {
                        _dispatcher.Release(room);
                        await Task.Delay(owner.options.FetchErrorDelay, owner.broker.TimeProvider, token).ConfigureAwait(false);
                        continue;
                    }
                    catch (OperationCanceledException)
                    {
                        _dispatcher.Release(room);
                        throw;
                    }

                    _dispatcher.Release(room - received);
                    foreach (var delivery in batch)
                    {
                        _dispatcher.Dispatch(delivery);
                    }

                    batch.Clear();
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                // Stopping.
            }
        }

        public ValueTask AckAsync(PopDelivery delivery)
        {
            var broker = _owner.broker;
            if (broker.Faults.TryTakeConsumerCrash())
            {
                // A crashed consumer settles nothing: the broker redelivers after the invisible duration.
                return default;
            }

            try
            {
                broker.Ack(delivery);
            }
            catch (InMemoryBrokerException)
            {
                // The cluster refused the ack (paused): the message is redelivered; the idempotency gate absorbs it.
            }

            return default;
        }

        public ValueTask RetryAsync(PopDelivery delivery, TimeSpan? delay)
        {
            if (_owner.broker.Faults.TryTakeConsumerCrash())
            {
                return default;
            }

            Settle(delivery, delay ?? _owner.options.RetryBackoff(delivery.DeliveryAttempt));
            return default;
        }

        public ValueTask HandBackAsync(PopDelivery delivery)
        {
            // Fetched but not handled: the broker delivers it again at once.
            Settle(delivery, TimeSpan.Zero);
            return default;
        }

        private void Settle(PopDelivery delivery, TimeSpan redeliverAfter)
        {
            try
            {
                _owner.broker.ChangeInvisibleDuration(delivery, redeliverAfter);
            }
            catch (InMemoryBrokerException)
            {
                // Refused (paused): the message comes back after its original invisible duration instead.
            }
        }
    }
}
