using DualCluster.Transport;

namespace DualCluster.Consuming;

/// <summary>One <c>AddConsumer</c> call: what to read and how to handle it.</summary>
internal sealed record ConsumerRegistration(
    ConsumerSubscription Subscription,
    Func<IServiceProvider, MessageContext, CancellationToken, Task> Handle,
    Func<ReceivedMessage, string?>? KeySelector,
    Func<DeadLetteredMessage, CancellationToken, Task>? OnDeadLetter = null);
