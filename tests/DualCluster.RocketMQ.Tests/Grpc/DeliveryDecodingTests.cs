using System.IO.Compression;
using Utf8 = System.Text.Encoding;
using Apache.Rocketmq.V2;
using DualCluster.RocketMQ.Grpc;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace DualCluster.RocketMQ.Tests.Grpc;

public sealed class DeliveryDecodingTests
{
    private static Message Delivered(byte[] body, Digest? digest = null, Apache.Rocketmq.V2.Encoding encoding = Apache.Rocketmq.V2.Encoding.Identity)
    {
        var message = new Message
        {
            Topic = new Resource { Name = "orders" },
            Body = ByteString.CopyFrom(body),
            SystemProperties = new SystemProperties
            {
                MessageId = "01001122334455123407861F8000000001",
                BodyDigest = digest,
                BodyEncoding = encoding,
                MessageType = MessageType.Normal,
                BornTimestamp = Timestamp.FromDateTimeOffset(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero)),
                ReceiptHandle = "h1",
                DeliveryAttempt = 2,
                Tag = "created",
                MessageGroup = "g1",
            },
        };
        message.SystemProperties.Keys.Add("order-1");
        message.UserProperties[MessageProperties.IdempotencyKey] = "k1";
        return message;
    }

    [Theory]
    [InlineData("m21", "3E0D52A")]
    [InlineData("hello", "3610A686")]
    public void CRC32_is_rendered_as_unpadded_uppercase_hex(string body, string expected) =>
        Assert.Equal(expected, DeliveredMessage.Crc32Hex(Utf8.UTF8.GetBytes(body)));

    [Fact]
    public void Digests_of_the_fact_sheet_match()
    {
        var hello = Utf8.UTF8.GetBytes("hello");
        Assert.True(DeliveredMessage.DigestMatches(new Digest { Type = DigestType.Md5, Checksum = "5D41402ABC4B2A76B9719D911017C592" }, hello));
        Assert.True(DeliveredMessage.DigestMatches(new Digest { Type = DigestType.Crc32, Checksum = "3610A686" }, hello));
        Assert.True(DeliveredMessage.DigestMatches(new Digest { Type = DigestType.Crc32, Checksum = "03E0D52A" }, Utf8.UTF8.GetBytes("m21")));
        Assert.False(DeliveredMessage.DigestMatches(new Digest { Type = DigestType.Md5, Checksum = "00" }, hello));
    }

    [Fact]
    public void Delivered_message_maps_every_field()
    {
        var error = DeliveredMessage.Decode(ClusterRole.New, "orders", Delivered(Utf8.UTF8.GetBytes("hello"), new Digest { Type = DigestType.Md5, Checksum = "5D41402ABC4B2A76B9719D911017C592" }), 2, out var received);

        Assert.Null(error);
        Assert.Equal(ClusterRole.New, received!.Cluster);
        Assert.Equal("orders", received.Topic);
        Assert.Equal("01001122334455123407861F8000000001", received.MessageId);
        Assert.Equal("hello", Utf8.UTF8.GetString(received.Body.Span));
        Assert.Equal(2, received.DeliveryAttempt);
        Assert.Equal("created", received.Tag);
        Assert.Equal(["order-1"], received.Keys);
        Assert.Equal("g1", received.MessageGroup);
        Assert.Equal("k1", received.IdempotencyKey);
        Assert.Equal(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero), received.BornTime);
    }

    [Fact]
    public void Digest_mismatch_is_reported_as_corrupted()
    {
        var error = DeliveredMessage.Decode(ClusterRole.New, "orders", Delivered([1, 2, 3], new Digest { Type = DigestType.Md5, Checksum = "5D41402ABC4B2A76B9719D911017C592" }), 1, out var received);
        Assert.NotNull(error);
        Assert.Null(received);
    }

    [Fact]
    public void Bodies_flagged_GZIP_are_inflated_whether_gzip_or_zlib()
    {
        var plain = Utf8.UTF8.GetBytes(new string('x', 500));
        foreach (var compressed in new[] { Compress(plain, s => new GZipStream(s, CompressionLevel.Fastest)), Compress(plain, s => new ZLibStream(s, CompressionLevel.Fastest)) })
        {
            Assert.Null(DeliveredMessage.Decode(ClusterRole.Old, "orders", Delivered(compressed, encoding: Apache.Rocketmq.V2.Encoding.Gzip), 1, out var received));
            Assert.Equal(plain, received!.Body.ToArray());
        }

        Assert.NotNull(DeliveredMessage.Decode(ClusterRole.Old, "orders", Delivered([9, 9, 9], encoding: Apache.Rocketmq.V2.Encoding.Gzip), 1, out _));
    }

    [Fact]
    public void Message_without_an_id_is_corrupted_rather_than_a_crash()
    {
        var message = Delivered([1]);
        message.SystemProperties.MessageId = "";
        Assert.NotNull(DeliveredMessage.Decode(ClusterRole.New, "orders", message, 1, out _));
    }

    [Fact]
    public void Customized_backoff_uses_the_attempt_step_and_repeats_the_last()
    {
        var policy = new RetryPolicy { MaxAttempts = 5, CustomizedBackoff = new CustomizedBackoff { Next = { Duration.FromTimeSpan(TimeSpan.FromSeconds(1)), Duration.FromTimeSpan(TimeSpan.FromSeconds(5)) } } };
        Assert.Equal(TimeSpan.FromSeconds(1), RetryBackoff.Delay(policy, 1));
        Assert.Equal(TimeSpan.FromSeconds(5), RetryBackoff.Delay(policy, 2));
        Assert.Equal(TimeSpan.FromSeconds(5), RetryBackoff.Delay(policy, 9));
    }

    [Fact]
    public void Exponential_backoff_grows_and_caps()
    {
        var policy = new RetryPolicy
        {
            ExponentialBackoff = new ExponentialBackoff { Initial = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(10)), Max = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)), Multiplier = 2 },
        };
        Assert.Equal(TimeSpan.FromMilliseconds(10), RetryBackoff.Delay(policy, 1));
        Assert.Equal(TimeSpan.FromMilliseconds(40), RetryBackoff.Delay(policy, 3));
        Assert.Equal(TimeSpan.FromSeconds(1), RetryBackoff.Delay(policy, 30));
        Assert.Equal(TimeSpan.FromSeconds(1), RetryBackoff.Delay(policy, 5000));
    }

    [Fact]
    public void Without_a_server_policy_the_proxy_default_steps_apply()
    {
        Assert.Equal(TimeSpan.FromSeconds(1), RetryBackoff.Delay(null, 1));
        Assert.Equal(TimeSpan.FromSeconds(5), RetryBackoff.Delay(null, 2));
        Assert.Equal(TimeSpan.FromHours(2), RetryBackoff.Delay(null, 100));
    }

    [Fact]
    public void Receive_invisible_duration_stays_within_the_proxy_bounds()
    {
        Assert.Equal(TimeSpan.FromSeconds(10), PushConsumerClient.ReceiveInvisibleDuration(TimeSpan.FromSeconds(2)));
        Assert.Equal(TimeSpan.FromSeconds(30), PushConsumerClient.ReceiveInvisibleDuration(TimeSpan.FromSeconds(30)));
        Assert.Equal(TimeSpan.FromHours(12), PushConsumerClient.ReceiveInvisibleDuration(TimeSpan.FromDays(1)));
    }

    private static byte[] Compress(byte[] data, Func<Stream, Stream> wrap)
    {
        using var output = new MemoryStream();
        using (var stream = wrap(output))
        {
            stream.Write(data);
        }

        return output.ToArray();
    }
}
