using DualCluster.Testing;
using DualCluster.Transport;
using Xunit.Abstractions;

namespace DualCluster.Testing.Tests.Rehearsal;

/// <summary>
/// The drain check before the last consumers leave Old: it reads lag, retry queue, in-flight and delayed messages
/// through the backlog probe, and a figure the transport cannot see keeps the node on Old unless the operator
/// explicitly says to assume it drained.
/// </summary>
public sealed class DrainVerifierTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("Ready")]
    [InlineData("InFlight")]
    [InlineData("Retry")]
    [InlineData("Delayed")]
    public async Task A_figure_the_transport_cannot_see_keeps_the_last_consumers_on_Old(string figure)
    {
        var result = await RehearseAsync(figure, assumeDrained: false);

        Assert.Equal(0, result.Lost);
        Assert.Equal(0, result.DuplicateEffects);
        Assert.True(result.Steps[^1].ConsumersReadingOld > 0, "no consumer may leave Old while a drain figure is unknown");
        Assert.True(result.Steps[^1].Draining > 0);
    }

    [Fact]
    public async Task An_unknown_figure_counts_as_drained_only_when_the_operator_says_so()
    {
        var result = await RehearseAsync("InFlight", assumeDrained: true);

        Assert.Equal(0, result.Lost);
        Assert.Equal(0, result.DuplicateEffects);
        Assert.Equal(0, result.Steps[^1].ConsumersReadingOld);
    }

    [Fact]
    public void Every_figure_must_be_known_and_zero_for_a_report_to_be_drained()
    {
        var zero = new BacklogReport { Ready = 0, InFlight = 0, Retry = 0, Delayed = 0 };

        Assert.True(zero.IsDrained);
        Assert.Empty(zero.UnknownFigures);
        Assert.False((zero with { InFlight = 1 }).IsDrained);
        Assert.False((zero with { Retry = 2 }).IsDrained);
        Assert.False((zero with { Delayed = 3 }).IsDrained);
        Assert.False((zero with { Retry = null }).IsDrained);
        Assert.Equal(["Retry"], (zero with { Retry = null }).UnknownFigures);
        Assert.Equal(["Ready", "InFlight", "Retry", "Delayed"], BacklogReport.Unknown("no probe").UnknownFigures);
    }

    [Fact]
    public void A_queue_that_still_lags_is_not_drained_even_when_the_summed_counts_say_zero()
    {
        var report = new BacklogReport
        {
            Ready = 0,
            InFlight = 0,
            Retry = 0,
            Delayed = 0,
            Queues = [new QueueBacklog("old", 0, 10, 10), new QueueBacklog("old", 1, 12, 9)],
        };

        Assert.Equal(3, report.QueueLag);
        Assert.False(report.IsDrained);
        Assert.True((report with { Queues = [new QueueBacklog("old", 0, 10, 10)] }).IsDrained);
    }

    [Fact]
    public void The_in_memory_probe_sees_lag_per_queue_retry_in_flight_and_delayed_messages()
    {
        var broker = new InMemoryBroker(new InMemoryBrokerOptions { DefaultQueueCount = 2, NewGroupStartPosition = ConsumeStartPosition.Earliest });
        broker.ConfigureGroup("g");
        broker.Subscribe("g", "t");
        broker.Send(new OutgoingMessage("t", new byte[] { 1 }));
        broker.Send(new OutgoingMessage("t", new byte[] { 2 }));
        broker.Send(new OutgoingMessage("t", new byte[] { 3 }) { DeliveryTime = DateTimeOffset.UtcNow.AddHours(1) });
        var delivered = broker.Receive("g", "t", 1, TimeSpan.FromMinutes(1));

        var report = broker.GetBacklog("g", "t");

        Assert.Single(delivered);
        Assert.Equal(1, report.InFlight);
        Assert.Equal(1, report.Delayed);
        Assert.Equal(1, report.Ready);
        Assert.Equal(1, report.QueueLag);
        Assert.Equal(2, report.Queues!.Count);
        Assert.False(report.IsDrained);
        Assert.Empty(report.UnknownFigures);

        broker.ChangeInvisibleDuration(delivered[0], TimeSpan.FromHours(1));
        Assert.Equal(1, broker.GetBacklog("g", "t").Retry + broker.GetBacklog("g", "t").InFlight);
    }

    private async Task<RehearsalResult> RehearseAsync(string hidden, bool assumeDrained)
    {
        var options = new RehearsalOptions
        {
            Messages = 2_000,
            Seed = 3,
            Plan = RehearsalStep.FiveSteps,
            BacklogProbe = inner => new BlindProbe(inner, hidden),
            QuietPeriod = TimeSpan.FromSeconds(assumeDrained ? 5 : 1),
        };
        options.Settings["DualCluster:Consumer:AssumeOldDrainedWhenUnknown"] = assumeDrained ? "true" : "false";
        var result = await new MigrationRehearsal(options).RunAsync().WaitAsync(TimeSpan.FromMinutes(2));
        RehearsalPrinter.Print(result, output.WriteLine);
        return result;
    }

    /// <summary>A transport's probe that cannot see one figure (reports it as null, never as 0).</summary>
    private sealed class BlindProbe(IBacklogProbe inner, string hidden) : IBacklogProbe
    {
        public async ValueTask<BacklogReport> GetBacklogAsync(string group, string topic, CancellationToken cancellationToken = default)
        {
            var report = await inner.GetBacklogAsync(group, topic, cancellationToken);
            return hidden switch
            {
                "Ready" => report with { Ready = null, Queues = null, Remark = "lag not visible" },
                "InFlight" => report with { InFlight = null, Remark = "in-flight not visible" },
                "Retry" => report with { Retry = null, Remark = "retry queue not visible" },
                _ => report with { Delayed = null, Remark = "delayed messages not visible" },
            };
        }
    }
}
