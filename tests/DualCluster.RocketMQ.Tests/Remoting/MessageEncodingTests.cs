using System.Net;
using System.Text;
using DualCluster.RocketMQ.Remoting;
using Microsoft.Extensions.Time.Testing;

namespace DualCluster.RocketMQ.Tests.Remoting;

public sealed class MessageEncodingTests
{
    [Theory]
    [InlineData("TagA", 2598919)]
    [InlineData("TagB", 2598920)]
    [InlineData("*", 42)]
    [InlineData("中文", 646394)]
    public void Tag_codes_are_java_string_hash_codes(string tag, int expected) =>
        Assert.Equal(expected, JavaStringHash.Compute(tag));

    [Fact]
    public void Body_crc_matches_the_reference() =>
        Assert.Equal(2010220930, MessageRecordCodec.BodyCrc("Hello"u8));

    [Fact]
    public void Magic_codes_match_the_reference()
    {
        Assert.Equal(-626843481, MessageRecord.MagicV1);
        Assert.Equal(unchecked((int)0xDAA320AB), MessageRecord.MagicV2);
    }

    [Fact]
    public void Unique_key_has_the_reference_layout()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 2, 0, 0, 1, TimeSpan.Zero));
        time.SetLocalTimeZone(TimeZoneInfo.Utc);
        var generator = new UniqueKeyGenerator(time, IPAddress.Parse("10.1.2.3"));

        var first = generator.Next();
        var second = generator.Next();

        Assert.Equal(32, first.Length);
        Assert.Equal("0A010203", first[..8]); // IP
        Assert.Equal(((short)Environment.ProcessId).ToString("X4", System.Globalization.CultureInfo.InvariantCulture), first[8..12]); // PID as int16
        Assert.Equal(first[..20], second[..20]); // fixed per process
        Assert.Equal((86_400_000 + 1000).ToString("X8", System.Globalization.CultureInfo.InvariantCulture), first[20..28]); // ms since the start of the month
        Assert.Equal(first.ToUpperInvariant(), first);
        Assert.NotEqual(first[28..], second[28..]); // counter
    }

    [Fact]
    public void Properties_round_trip_and_malformed_segments_are_dropped()
    {
        var text = MessagePropertyCodec.Encode([new("UNIQ_KEY", "ABC"), new("WAIT", "true")]);
        Assert.Equal("UNIQ_KEY\u0001ABC\u0002WAIT\u0001true", text);

        var decoded = MessagePropertyCodec.Decode("A\u0001\u0002\u0001x\u0002KEYS\u0001k1 k2\u0002KEYS\u0001k3");
        Assert.Single(decoded);
        Assert.Equal("k3", decoded["KEYS"]);
    }

    [Fact]
    public void A_record_round_trips_with_a_compressed_body_and_an_offset_id()
    {
        var body = Encoding.UTF8.GetBytes(new string('x', 5000));
        var record = new MessageRecord
        {
            QueueId = 2,
            QueueOffset = 7,
            PhysicalOffset = 1234,
            SysFlag = MessageRecordCodec.CompressedFlag | MessageRecordCodec.ZlibCompressionType,
            BornTimestamp = 1700000000000,
            StoreTimestamp = 1700000000001,
            BornHost = new IPEndPoint(IPAddress.Parse("10.0.0.9"), 5555),
            StoreHost = new IPEndPoint(IPAddress.Parse("127.0.0.1"), 10911),
            ReconsumeTimes = 1,
            Body = MessageRecordCodec.Compress(body),
            Topic = "TopicTest",
            PropertiesText = "UNIQ_KEY\u0001ABC\u0002TAGS\u0001TagA",
        };
        using var buffer = new FrameBuffer();
        MessageRecordCodec.Encode(record, buffer);
        MessageRecordCodec.Encode(record, buffer);

        var decoded = MessageRecordCodec.DecodeAll(buffer.ToArray());

        Assert.Equal(2, decoded.Count);
        var first = decoded[0];
        Assert.Equal(body, first.Body.ToArray());
        Assert.Equal("ABC", first.MessageId);
        Assert.Equal("TagA", first.Tag);
        Assert.Equal(7, first.QueueOffset);
        Assert.Equal(1, first.ReconsumeTimes);
        Assert.Equal("7F00000100002A9F00000000000004D2", first.OffsetMessageId);
        Assert.Equal(91 + record.Body.Length + 9 + record.PropertiesText.Length, buffer.WrittenCount / 2);
    }

    [Fact]
    public void A_raw_deflate_body_is_not_mistaken_for_zlib()
    {
        var zlib = MessageRecordCodec.Compress("Hello"u8);
        Assert.Equal(0x78, zlib[0]); // zlib header, not raw deflate (fact sheet §9 risk 5)
    }

    [Fact]
    public void Delay_levels_round_up_to_the_next_level()
    {
        Assert.Equal(1, MessageConst.DelayLevelFor(TimeSpan.FromMilliseconds(200)));
        Assert.Equal(3, MessageConst.DelayLevelFor(TimeSpan.FromSeconds(10)));
        Assert.Equal(4, MessageConst.DelayLevelFor(TimeSpan.FromSeconds(11)));
        Assert.Equal(18, MessageConst.DelayLevelFor(TimeSpan.FromDays(1)));
    }
}
