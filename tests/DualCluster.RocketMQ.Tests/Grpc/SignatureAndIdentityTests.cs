using System.Globalization;
using DualCluster.RocketMQ.Grpc;
using Microsoft.Extensions.Time.Testing;

namespace DualCluster.RocketMQ.Tests.Grpc;

public sealed class SignatureAndIdentityTests
{
    [Fact]
    public void Signature_matches_the_fact_sheet_test_vector()
    {
        Assert.Equal("340034F7C9DBF7675A93BF160A98DE9EFA9A6812", RequestSignature.Sign("mySecret", "20250102T030405Z"));
        Assert.Equal("NAA098nb92dak78WCpjenvqaaBI=", Convert.ToBase64String(Convert.FromHexString(RequestSignature.Sign("mySecret", "20250102T030405Z"))));
    }

    [Fact]
    public void Authorization_header_has_the_exact_MQv2_format()
    {
        Assert.Equal(
            "MQv2-HMAC-SHA1 Credential=myAk, SignedHeaders=x-mq-date-time, Signature=340034F7C9DBF7675A93BF160A98DE9EFA9A6812",
            RequestSignature.Authorization("myAk", "mySecret", "20250102T030405Z"));
    }

    [Fact]
    public void Date_time_is_UTC_with_a_literal_Z_whatever_the_offset_and_culture()
    {
        var previous = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = new CultureInfo("th-TH");
            var local = new DateTimeOffset(2025, 1, 2, 11, 4, 5, TimeSpan.FromHours(8));
            Assert.Equal("20250102T030405Z", RequestSignature.FormatDateTime(local));
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
    }

    [Fact]
    public void Signature_verifies_case_insensitively_and_rejects_a_wrong_secret()
    {
        var signature = RequestSignature.Sign("mySecret", "20250102T030405Z");
        Assert.True(RequestSignature.Verify("mySecret", "20250102T030405Z", signature.ToLowerInvariant()));
        Assert.False(RequestSignature.Verify("other", "20250102T030405Z", signature));
        Assert.False(RequestSignature.Verify("mySecret", "20250102T030406Z", signature));
        Assert.False(RequestSignature.Verify("mySecret", "20250102T030405Z", "not-hex"));
    }

    [Fact]
    public void Authorization_parses_like_the_proxy_does()
    {
        Assert.True(RequestSignature.TryParse("MQv2-HMAC-SHA1 Credential=ak/extra, SignedHeaders=x-mq-date-time, Signature=ABCD", out var ak, out var sig));
        Assert.Equal("ak", ak);
        Assert.Equal("ABCD", sig);
        Assert.False(RequestSignature.TryParse("MQv2-HMAC-SHA1 Credential", out _, out _));
        Assert.False(RequestSignature.TryParse(null, out _, out _));
    }

    [Fact]
    public void Message_id_matches_the_fact_sheet_example()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var ids = new MessageIdGenerator(time, [0x00, 0x11, 0x22, 0x33, 0x44, 0x55], 0x1234, 0);

        Assert.Equal("01001122334455123407861F8000000001", ids.Next());
        Assert.Equal("01001122334455123407861F8000000002", ids.Next());
    }

    [Fact]
    public void Message_ids_are_34_uppercase_hex_characters_starting_with_version_01()
    {
        var ids = new MessageIdGenerator(TimeProvider.System);
        var seen = new HashSet<string>();
        for (var i = 0; i < 1000; i++)
        {
            var id = ids.Next();
            Assert.Matches("^01[0-9A-F]{32}$", id);
            Assert.True(seen.Add(id));
        }
    }

    [Fact]
    public void Producer_reuses_the_message_id_of_the_same_message_across_retries()
    {
        using var connection = GrpcTestOptions.Connection();
        var producer = new GrpcProducer(connection, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var message = new OutgoingMessage("orders", new byte[] { 1 });
        var other = new OutgoingMessage("orders", new byte[] { 1 });

        var first = producer.MessageIdOf(message);
        Assert.Equal(first, producer.MessageIdOf(message));
        Assert.NotEqual(first, producer.MessageIdOf(other));
    }

    [Fact]
    public void Client_id_is_host_pid_sequence_and_base36_milliseconds()
    {
        var now = new DateTimeOffset(2024, 7, 1, 0, 0, 0, TimeSpan.Zero);
        Assert.Equal($"myhost@4711@1@{ClientIdentity.ToBase36(now.ToUnixTimeMilliseconds())}", ClientIdentity.Create("myhost", 4711, 1, now));
        Assert.Equal("0", ClientIdentity.ToBase36(0));
        Assert.Equal("Z", ClientIdentity.ToBase36(35));
        Assert.Equal("10", ClientIdentity.ToBase36(36));
        Assert.Equal("LFLS", ClientIdentity.ToBase36(1_000_000));
    }

    [Fact]
    public void Each_client_gets_its_own_stable_id()
    {
        var time = new FakeTimeProvider();
        var a = ClientIdentity.NewClientId(time);
        var b = ClientIdentity.NewClientId(time);
        Assert.NotEqual(a, b);
        Assert.Matches($"^{System.Text.RegularExpressions.Regex.Escape(ClientIdentity.HostName)}@{Environment.ProcessId}@[0-9]+@[0-9A-Z]+$", a);
    }

    [Fact]
    public void Every_call_carries_the_required_headers_and_a_fresh_request_id()
    {
        using var connection = GrpcTestOptions.Connection(o => o.Namespace = "ns-1");
        var first = connection.Headers("client-1");
        var second = connection.Headers("client-1");

        Assert.Equal("client-1", first.GetValue("x-mq-client-id"));
        Assert.Equal("DOTNET", first.GetValue("x-mq-language"));
        Assert.Equal("ns-1", first.GetValue("x-mq-namespace"));
        Assert.False(string.IsNullOrEmpty(first.GetValue("x-mq-client-version")));
        Assert.Matches("^[0-9]{8}T[0-9]{6}Z$", first.GetValue("x-mq-date-time")!);
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", first.GetValue("x-mq-request-id")!);
        Assert.NotEqual(first.GetValue("x-mq-request-id"), second.GetValue("x-mq-request-id"));
        Assert.Null(first.Get("authorization"));
        Assert.Null(first.Get("x-mq-session-token"));
    }

    [Fact]
    public void Signed_calls_carry_the_authorization_over_their_own_date_time_and_the_token()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero));
        using var connection = GrpcTestOptions.Connection(o =>
        {
            o.AccessKey = "myAk";
            o.SecretKey = "mySecret";
            o.SecurityToken = "sts-token";
        }, time);

        var headers = connection.Headers("client-1");

        Assert.Equal("20250102T030405Z", headers.GetValue("x-mq-date-time"));
        Assert.Equal(RequestSignature.Authorization("myAk", "mySecret", "20250102T030405Z"), headers.GetValue("authorization"));
        Assert.Equal("sts-token", headers.GetValue("x-mq-session-token"));

        time.Advance(TimeSpan.FromSeconds(1));
        var later = connection.Headers("client-1");
        Assert.Equal("20250102T030406Z", later.GetValue("x-mq-date-time"));
        Assert.Equal(RequestSignature.Authorization("myAk", "mySecret", "20250102T030406Z"), later.GetValue("authorization"));
    }
}
