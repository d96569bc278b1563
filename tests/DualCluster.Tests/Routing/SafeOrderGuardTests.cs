using DualCluster.Routing;

namespace DualCluster.Tests.Routing;

public sealed class SafeOrderGuardTests
{
    private static DualClusterOptions Options(int producer, int consumer, bool doubleRead = false, bool mirror = false, bool idempotency = true, string failover = "None")
    {
        var options = new DualClusterOptions();
        options.Producer.NewWeight = producer;
        options.Producer.Mirror = mirror;
        options.Producer.Failover = failover;
        options.Consumer.NewWeight = consumer;
        options.Consumer.DoubleRead = doubleRead;
        options.Idempotency.Enabled = idempotency;
        return options;
    }

    [Theory]
    [InlineData(0, 0, false)]    // step 1
    [InlineData(0, 30, false)]   // step 2
    [InlineData(30, 30, false)]  // step 3
    [InlineData(100, 30, false)] // step 4
    [InlineData(100, 100, false)] // step 5
    [InlineData(50, 0, true)]    // double read everywhere
    [InlineData(100, 100, true)]
    public void The_five_migration_steps_in_order_are_accepted(int producer, int consumer, bool doubleRead)
    {
        Assert.Empty(SafeOrderGuard.Check(Options(producer, consumer, doubleRead)));
    }

    [Fact]
    public void Moving_producers_before_any_consumer_reads_New_is_rejected_with_the_fix()
    {
        var errors = SafeOrderGuard.Check(Options(producer: 30, consumer: 0));
        var error = Assert.Single(errors);
        Assert.Contains("DualCluster:Producer:NewWeight=30", error, StringComparison.Ordinal);
        Assert.Contains("raise DualCluster:Consumer:NewWeight above 0 or enable DualCluster:Consumer:DoubleRead", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Mirroring_while_nobody_reads_New_is_rejected()
    {
        Assert.Single(SafeOrderGuard.Check(Options(producer: 0, consumer: 0, mirror: true)));
    }

    [Fact]
    public void An_override_that_sends_one_node_to_New_counts_as_writing_New()
    {
        var options = Options(producer: 0, consumer: 0);
        options.Overrides["canary-1"] = new NodeOverrideOptions { Producer = "New" };
        Assert.Single(SafeOrderGuard.Check(options));

        options.Overrides["reader-1"] = new NodeOverrideOptions { Consumer = "Both" };
        Assert.Empty(SafeOrderGuard.Check(options));
    }

    [Theory]
    [InlineData(30)]
    [InlineData(99)]
    public void Last_consumers_leaving_Old_while_producers_still_write_Old_is_rejected(int producer)
    {
        var error = Assert.Single(SafeOrderGuard.Check(Options(producer, consumer: 100)));
        Assert.Contains("takes every consumer off Old", error, StringComparison.Ordinal);
    }

    [Fact]
    public void An_override_keeping_one_producer_on_Old_blocks_the_last_consumers_leaving()
    {
        var options = Options(producer: 100, consumer: 100);
        options.Overrides["legacy-batch"] = new NodeOverrideOptions { Producer = "Old" };
        Assert.Single(SafeOrderGuard.Check(options));
    }

    [Fact]
    public void Double_writing_without_idempotency_is_rejected()
    {
        var error = Assert.Single(SafeOrderGuard.Check(Options(producer: 50, consumer: 50, idempotency: false)));
        Assert.Contains("Idempotency:Enabled", error, StringComparison.Ordinal);
        Assert.Empty(SafeOrderGuard.Check(Options(producer: 0, consumer: 50, idempotency: false)));
    }

    [Fact]
    public void Failover_without_idempotency_is_rejected()
    {
        Assert.Single(SafeOrderGuard.Check(Options(producer: 0, consumer: 50, idempotency: false, failover: "OtherCluster")));
    }
}
