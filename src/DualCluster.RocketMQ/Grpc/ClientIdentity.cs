using System.Globalization;

namespace DualCluster.RocketMQ.Grpc;

/// <summary>
/// Client ids of fact sheet §3 (<c>{hostname}@{pid}@{n}@{base36 ms since epoch}</c>): one stable id per client
/// instance, used on every call, because the proxy keys the client's session (settings, registration) by it.
/// </summary>
internal static class ClientIdentity
{
    private static int s_counter;

    /// <summary>This machine's host name (also the <c>born_host</c> of sent messages).</summary>
    public static string HostName { get; } = SafeHostName();

    /// <summary>This process's id.</summary>
    public static int ProcessId { get; } = Environment.ProcessId;

    /// <summary>A new client id.</summary>
    public static string NewClientId(TimeProvider time)
    {
        var n = Interlocked.Increment(ref s_counter);
        return Create(HostName, ProcessId, n, time.GetUtcNow());
    }

    /// <summary>Formats a client id from its parts.</summary>
    public static string Create(string host, int pid, int sequence, DateTimeOffset now) =>
        string.Create(CultureInfo.InvariantCulture, $"{host}@{pid}@{sequence}@{ToBase36(now.ToUnixTimeMilliseconds())}");

    /// <summary>Base-36 digits <c>0-9A-Z</c>.</summary>
    public static string ToBase36(long value)
    {
        const string digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        if (value <= 0)
        {
            return "0";
        }

        Span<char> buffer = stackalloc char[16];
        var i = buffer.Length;
        while (value > 0)
        {
            buffer[--i] = digits[(int)(value % 36)];
            value /= 36;
        }

        return new string(buffer[i..]);
    }

    private static string SafeHostName()
    {
        try
        {
            var name = System.Net.Dns.GetHostName();
            return string.IsNullOrWhiteSpace(name) ? Environment.MachineName : name;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return Environment.MachineName;
        }
    }
}
