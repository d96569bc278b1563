using Apache.Rocketmq.V2;
using DualCluster.RocketMQ.Grpc;

namespace DualCluster.RocketMQ.Tests.Grpc;

public sealed class ClientSideValidationTests
{
    private static OutgoingMessage Message(string topic = "orders", int size = 4) => new(topic, new byte[size]);

    [Theory]
    [InlineData("orders")]
    [InlineData("%RETRY%group_1")]
    [InlineData("a-b_c|d")]
    public void Valid_topic_names_pass(string topic) =>
        Assert.Equal(MessageType.Normal, GrpcProducer.Classify(Message(topic), MessageValidator.DefaultMaxBodySize));

    [Theory]
    [InlineData("bad topic")]
    [InlineData("orders.v1")]
    [InlineData("订单")]
    public void Topic_names_outside_the_pattern_are_rejected(string topic) =>
        Assert.Throws<ArgumentException>(() => GrpcProducer.Classify(Message(topic), MessageValidator.DefaultMaxBodySize));

    [Fact]
    public void Topic_longer_than_127_characters_is_rejected() =>
        Assert.Throws<ArgumentException>(() => GrpcProducer.Classify(Message(new string('t', 128)), MessageValidator.DefaultMaxBodySize));

    [Fact]
    public void Empty_body_is_rejected() =>
        Assert.Throws<ArgumentException>(() => GrpcProducer.Classify(Message(size: 0), MessageValidator.DefaultMaxBodySize));

    [Fact]
    public void Body_over_the_limit_is_rejected_and_at_the_limit_passes()
    {
        Assert.Equal(MessageType.Normal, GrpcProducer.Classify(Message(size: 1024), 1024));
        var ex = Assert.Throws<ArgumentException>(() => GrpcProducer.Classify(Message(size: 1025), 1024));
        Assert.Contains("1024", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a|b")]
    [InlineData("  ")]
    [InlineData("tab\there")]
    public void Invalid_tags_are_rejected(string tag) =>
        Assert.Throws<ArgumentException>(() => GrpcProducer.Classify(new OutgoingMessage("orders", new byte[] { 1 }) { Tag = tag }, MessageValidator.DefaultMaxBodySize));

    [Fact]
    public void Reserved_property_names_are_rejected()
    {
        var message = Message();
        message.Properties["UNIQ_KEY"] = "x";
        Assert.Throws<ArgumentException>(() => GrpcProducer.Classify(message, MessageValidator.DefaultMaxBodySize));
    }

    [Fact]
    public void Message_group_makes_a_FIFO_message_and_delivery_time_a_DELAY_message()
    {
        Assert.Equal(MessageType.Fifo, GrpcProducer.Classify(new OutgoingMessage("orders", new byte[] { 1 }) { MessageGroup = "customer-7" }, 100));
        Assert.Equal(MessageType.Delay, GrpcProducer.Classify(new OutgoingMessage("orders", new byte[] { 1 }) { DeliveryTime = DateTimeOffset.UtcNow.AddMinutes(1) }, 100));
    }

    [Fact]
    public void Message_group_and_delivery_time_are_exclusive()
    {
        var message = new OutgoingMessage("orders", new byte[] { 1 }) { MessageGroup = "g", DeliveryTime = DateTimeOffset.UtcNow.AddMinutes(1) };
        Assert.Throws<ArgumentException>(() => GrpcProducer.Classify(message, 100));
    }

    [Fact]
    public void Message_group_of_64_UTF8_bytes_or_more_is_rejected()
    {
        Assert.Equal(MessageType.Fifo, GrpcProducer.Classify(new OutgoingMessage("orders", new byte[] { 1 }) { MessageGroup = new string('g', 63) }, 100));
        Assert.Throws<ArgumentException>(() => GrpcProducer.Classify(new OutgoingMessage("orders", new byte[] { 1 }) { MessageGroup = new string('g', 64) }, 100));
        // 22 three-byte characters = 66 bytes although only 22 characters.
        Assert.Throws<ArgumentException>(() => GrpcProducer.Classify(new OutgoingMessage("orders", new byte[] { 1 }) { MessageGroup = new string('组', 22) }, 100));
    }

    [Fact]
    public async Task Producer_rejects_an_invalid_message_before_any_IO()
    {
        // The endpoint is unreachable: an ArgumentException proves no call was attempted.
        using var connection = GrpcTestOptions.Connection(o => o.Endpoint = "http://127.0.0.1:1");
        await using var producer = new GrpcProducer(connection, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        await Assert.ThrowsAsync<ArgumentException>(async () => await producer.SendAsync(new OutgoingMessage("orders", ReadOnlyMemory<byte>.Empty)));
    }
}
