using System.Globalization;

namespace DualCluster.RocketMQ.Remoting;

/// <summary>One request or response frame of the remoting protocol (fact sheet §1).</summary>
internal sealed class RemotingCommand
{
    /// <summary>The version ordinal sent on every request (4.9.7, fact sheet §1.6).</summary>
    public const int CurrentVersion = 407;

    public const int ResponseFlag = 1;
    public const int OneWayFlag = 2;

    private static int s_opaque;

    /// <summary>Request code in requests, response code in responses.</summary>
    public int Code { get; set; }

    public byte Language { get; set; } = LanguageCode.DotNet;

    public int Version { get; set; } = CurrentVersion;

    public int Opaque { get; set; }

    public int Flag { get; set; }

    public string? Remark { get; set; }

    public Dictionary<string, string>? ExtFields { get; set; }

    public ReadOnlyMemory<byte> Body { get; set; }

    public SerializeType SerializeType { get; set; }

    public bool IsResponse => (Flag & ResponseFlag) != 0;

    public bool IsOneWay => (Flag & OneWayFlag) != 0;

    /// <summary>Creates a request with a fresh opaque.</summary>
    public static RemotingCommand CreateRequest(int code, Dictionary<string, string>? extFields = null, ReadOnlyMemory<byte> body = default) =>
        new() { Code = code, Opaque = Interlocked.Increment(ref s_opaque), ExtFields = extFields, Body = body };

    /// <summary>Creates the response to <paramref name="request"/>: same opaque and header type, response flag set.</summary>
    public static RemotingCommand CreateResponse(RemotingCommand request, int code, string? remark = null) =>
        new()
        {
            Code = code,
            Opaque = request.Opaque,
            Flag = ResponseFlag,
            Remark = remark,
            SerializeType = request.SerializeType,
            Language = LanguageCode.Java,
        };

    public string? GetExt(string key) => ExtFields is not null && ExtFields.TryGetValue(key, out var value) ? value : null;

    public long? GetLong(string key) =>
        GetExt(key) is { } text && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) ? value : null;

    public int? GetInt(string key) =>
        GetExt(key) is { } text && int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) ? value : null;

    public RemotingCommand Set(string key, string? value)
    {
        if (value is not null)
        {
            (ExtFields ??= new Dictionary<string, string>(StringComparer.Ordinal))[key] = value;
        }

        return this;
    }

    public RemotingCommand Set(string key, long value) => Set(key, value.ToString(CultureInfo.InvariantCulture));

    public RemotingCommand Set(string key, bool value) => Set(key, value ? "true" : "false");

    /// <inheritdoc/>
    public override string ToString() => $"code={Code} opaque={Opaque} flag={Flag}" + (Remark is null ? "" : $" remark={Remark}");
}
