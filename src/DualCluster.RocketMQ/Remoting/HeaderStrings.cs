using System.Text;

namespace DualCluster.RocketMQ.Remoting;

/// <summary>
/// Shared string instances for the <c>extFields</c> keys (and a few constant values) that every send, pull and
/// response carries, so decoding a header does not allocate them again for each frame. Unknown text is
/// decoded normally. Thread-safe (read-only after initialisation).
/// </summary>
internal static class HeaderStrings
{
    private static readonly string[][] ByLength = Build(
    [
        // SEND_MESSAGE_V2 keys (§2.2) and the send response (§2.2 Response).
        "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n",
        "msgId", "queueId", "queueOffset", "transactionId", "MSG_REGION", "TRACE_ON",
        // PULL_MESSAGE (§2.3), offsets (§2.4, §2.5, §2.10), send-back (§2.9), heartbeat / membership (§2.6–2.8, §2.12).
        "consumerGroup", "topic", "maxMsgNums", "sysFlag", "commitOffset", "suspendTimeoutMillis", "subscription",
        "subVersion", "expressionType", "bname", "nextBeginOffset", "minOffset", "maxOffset", "suggestWhichBrokerId",
        "offset", "group", "delayLevel", "originMsgId", "originTopic", "unitMode", "maxReconsumeTimes", "clientID",
        "AccessKey", "Signature", "SecurityToken", "acceptStandardJsonOnly",
        // Frequent values.
        "true", "false", "0", "1", "2", "3", "4", "TBW102", "DefaultRegion", "TAG", "broker-a",
    ]);

    /// <summary>The shared instance for <paramref name="utf8"/> when it is a known string; otherwise a new string.</summary>
    public static string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length < ByLength.Length)
        {
            foreach (var candidate in ByLength[utf8.Length])
            {
                if (Matches(candidate, utf8))
                {
                    return candidate;
                }
            }
        }

        return Encoding.UTF8.GetString(utf8);
    }

    private static bool Matches(string candidate, ReadOnlySpan<byte> utf8)
    {
        // Every known string is ASCII, so one byte per char.
        for (var i = 0; i < utf8.Length; i++)
        {
            if (utf8[i] != candidate[i])
            {
                return false;
            }
        }

        return true;
    }

    private static string[][] Build(string[] known)
    {
        var longest = known.Max(s => s.Length);
        var table = new string[longest + 1][];
        for (var length = 0; length <= longest; length++)
        {
            table[length] = [.. known.Where(s => s.Length == length)];
        }

        return table;
    }
}
