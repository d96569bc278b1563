using System.Text;
using DualCluster.RocketMQ.Remoting;

namespace DualCluster.RocketMQ.Tests.Remoting;

public sealed class RemotingCodecTests
{
    private const string RouteRequestJson =
        "{\"code\":105,\"extFields\":{\"topic\":\"TopicTest\"},\"flag\":0,\"language\":\"JAVA\",\"opaque\":1,\"serializeTypeCurrentRPC\":\"JSON\",\"version\":407}";

    private static RemotingCommand RouteRequest(SerializeType type) => new()
    {
        Code = 105,
        Language = LanguageCode.Java,
        Version = 407,
        Opaque = 1,
        Flag = 0,
        SerializeType = type,
        ExtFields = new Dictionary<string, string>(StringComparer.Ordinal) { ["topic"] = "TopicTest" },
    };

    [Fact]
    public void Json_route_request_frame_matches_the_reference_bytes()
    {
        var frame = RemotingCodec.EncodeToArray(RouteRequest(SerializeType.Json));

        Assert.Equal(139, frame.Length);
        Assert.Equal("0000008700000083", Convert.ToHexString(frame, 0, 8));
        Assert.Equal(RouteRequestJson, Encoding.UTF8.GetString(frame, 8, frame.Length - 8));
    }

    [Fact]
    public void Binary_route_request_frame_matches_the_reference_bytes()
    {
        var frame = RemotingCodec.EncodeToArray(RouteRequest(SerializeType.RocketMQ));

        Assert.Equal(
            "0000002d010000290069000197000000010000000000000000000000140005746f706963000000095" + "46f70696354657374",
            Convert.ToHexString(frame).ToLowerInvariant());
        Assert.Equal(49, frame.Length);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void A_frame_decodes_to_what_was_encoded(int serializeType)
    {
        var type = (SerializeType)serializeType;
        var command = new RemotingCommand
        {
            Code = 17,
            Opaque = 42,
            Flag = RemotingCommand.ResponseFlag,
            Remark = "no route — 中文",
            SerializeType = type,
            ExtFields = new Dictionary<string, string>(StringComparer.Ordinal) { ["i"] = "UNIQ_KEY\u0001ABC\u0002WAIT\u0001true", ["queueId"] = "3" },
            Body = new byte[] { 1, 2, 3 },
        };

        var frame = RemotingCodec.EncodeToArray(command);
        var decoded = RemotingCodec.Decode(frame.AsMemory(4));

        Assert.Equal(17, decoded.Code);
        Assert.Equal(42, decoded.Opaque);
        Assert.True(decoded.IsResponse);
        Assert.Equal(command.Remark, decoded.Remark);
        Assert.Equal("UNIQ_KEY\u0001ABC\u0002WAIT\u0001true", decoded.GetExt("i"));
        Assert.Equal(3, decoded.GetInt("queueId"));
        Assert.Equal(new byte[] { 1, 2, 3 }, decoded.Body.ToArray());
        Assert.Equal(type, decoded.SerializeType);
    }

    [Fact]
    public void Json_header_with_numeric_ext_values_and_unknown_keys_is_read()
    {
        var header = Encoding.UTF8.GetBytes("{\"version\":401,\"unknown\":[1,2],\"extFields\":{\"queueId\":3,\"flag\":true},\"code\":0,\"flag\":1,\"opaque\":9,\"language\":\"CPP\"}");
        var frame = new byte[4 + header.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(frame, header.Length);
        header.CopyTo(frame, 4);

        var decoded = RemotingCodec.Decode(frame);

        Assert.Equal(9, decoded.Opaque);
        Assert.Equal("3", decoded.GetExt("queueId"));
        Assert.Equal("true", decoded.GetExt("flag"));
        Assert.Equal(1, decoded.Language);
    }

    [Fact]
    public void Binary_header_with_a_length_beyond_its_end_is_rejected()
    {
        var frame = RemotingCodec.EncodeToArray(RouteRequest(SerializeType.RocketMQ));
        frame[4 + 4 + 16] = 0x7F; // remark length byte → far past the header

        Assert.Throws<InvalidDataException>(() => RemotingCodec.Decode(frame.AsMemory(4)));
    }
}
