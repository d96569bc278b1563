using DualCluster.Transport;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace DualCluster.Producing;

/// <summary>One Polly pipeline per cluster (retry → circuit breaker → per-attempt timeout), rebuilt when the resilience settings change.</summary>
internal sealed class SendPipelines(TimeProvider time)
{
    private volatile Built? _built;

    public ResiliencePipeline<SendReceipt> For(ClusterRole role, ResilienceOptions options)
    {
        var built = _built;
        if (built is null || !SameSettings(built.Source, options))
        {
            built = new Built(Copy(options), Create(options), Create(options));
            _built = built;
        }

        return role == ClusterRole.Old ? built.Old : built.New;
    }

    public static bool IsTransient(Exception ex) => ex is ClusterTransportException { IsTransient: true } or TimeoutRejectedException;

    private ResiliencePipeline<SendReceipt> Create(ResilienceOptions o)
    {
        var shouldHandle = new PredicateBuilder<SendReceipt>()
            .Handle<ClusterTransportException>(e => e.IsTransient)
            .Handle<TimeoutRejectedException>();
        var builder = new ResiliencePipelineBuilder<SendReceipt> { TimeProvider = time };
        if (o.MaxRetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<SendReceipt>
            {
                ShouldHandle = shouldHandle,
                MaxRetryAttempts = o.MaxRetryAttempts,
                Delay = o.RetryBaseDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
            });
        }

        return builder
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<SendReceipt>
            {
                ShouldHandle = shouldHandle,
                FailureRatio = o.BreakerFailureRatio,
                MinimumThroughput = o.BreakerMinimumThroughput,
                SamplingDuration = o.BreakerSamplingDuration,
                BreakDuration = o.BreakerBreakDuration,
            })
            .AddTimeout(o.AttemptTimeout)
            .Build();
    }

    private static bool SameSettings(ResilienceOptions a, ResilienceOptions b) =>
        a.AttemptTimeout == b.AttemptTimeout && a.MaxRetryAttempts == b.MaxRetryAttempts && a.RetryBaseDelay == b.RetryBaseDelay
        && a.BreakerFailureRatio.Equals(b.BreakerFailureRatio) && a.BreakerMinimumThroughput == b.BreakerMinimumThroughput
        && a.BreakerSamplingDuration == b.BreakerSamplingDuration && a.BreakerBreakDuration == b.BreakerBreakDuration;

    private static ResilienceOptions Copy(ResilienceOptions o) => new()
    {
        AttemptTimeout = o.AttemptTimeout,
        MaxRetryAttempts = o.MaxRetryAttempts,
        RetryBaseDelay = o.RetryBaseDelay,
        BreakerFailureRatio = o.BreakerFailureRatio,
        BreakerMinimumThroughput = o.BreakerMinimumThroughput,
        BreakerSamplingDuration = o.BreakerSamplingDuration,
        BreakerBreakDuration = o.BreakerBreakDuration,
    };

    private sealed record Built(ResilienceOptions Source, ResiliencePipeline<SendReceipt> Old, ResiliencePipeline<SendReceipt> New);
}
