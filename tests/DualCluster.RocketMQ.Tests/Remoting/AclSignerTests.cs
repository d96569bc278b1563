using System.Text;
using DualCluster.RocketMQ.Remoting;

namespace DualCluster.RocketMQ.Tests.Remoting;

public sealed class AclSignerTests
{
    private static readonly byte[] Secret = Encoding.UTF8.GetBytes("12345678");

    [Fact]
    public void Route_request_signature_matches_the_reference()
    {
        var command = RemotingCommand.CreateRequest(105).Set("topic", "TopicTest");

        new AclSigner("rocketmq2", "12345678").Sign(command);

        Assert.Equal("rocketmq2", command.GetExt("AccessKey"));
        Assert.Equal("GeeGoP9mRvDhoVp4PD5omX0prgE=", command.GetExt("Signature"));
    }

    [Fact]
    public void Send_request_signature_covers_ordinal_key_order_and_the_body()
    {
        var command = RemotingCommand.CreateRequest(310, body: "Hello"u8.ToArray())
            .Set("n", "broker-a").Set("m", "false").Set("k", "false").Set("j", "0")
            .Set("i", "UNIQ_KEY\u0001ABC\u0002WAIT\u0001true").Set("h", "0").Set("g", "1700000000000")
            .Set("f", "0").Set("e", "0").Set("d", "4").Set("c", "TBW102").Set("b", "TopicTest").Set("a", "PG");

        new AclSigner("rocketmq2", "12345678").Sign(command);

        Assert.Equal("bbK4BKRLFFtyB78mpnBjQkFoANM=", command.GetExt("Signature"));
        Assert.True(AclSigner.Verify(command, Secret));
    }

    [Fact]
    public void A_tampered_request_fails_verification()
    {
        var command = RemotingCommand.CreateRequest(105).Set("topic", "TopicTest");
        new AclSigner("rocketmq2", "12345678").Sign(command);
        command.Set("topic", "Other");

        Assert.False(AclSigner.Verify(command, Secret));
    }

    [Fact]
    public void Security_token_is_added_and_signed()
    {
        var command = RemotingCommand.CreateRequest(105).Set("topic", "TopicTest");

        new AclSigner("ak", "12345678", "token-1").Sign(command);

        Assert.Equal("token-1", command.GetExt("SecurityToken"));
        Assert.True(AclSigner.Verify(command, Secret));
    }
}
