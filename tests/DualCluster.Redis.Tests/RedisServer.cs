using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace DualCluster.Redis.Tests;

/// <summary>
/// A throw-away redis-server (from the OS package) on a free loopback port in a temp dir, with AOF on so that a
/// graceful stop and start keeps the data. Never a machine-wide service.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly string _executable;
    private Process? _process;

    private RedisServer(string executable, string directory)
    {
        _executable = executable;
        Directory = directory;
    }

    /// <summary>The loopback port.</summary>
    public int Port { get; private set; }

    /// <summary>The server's data directory.</summary>
    public string Directory { get; }

    /// <summary>A StackExchange.Redis configuration string for this server, failing fast while it is down.</summary>
    public string ConnectionString => $"127.0.0.1:{Port},abortConnect=false,connectTimeout=2000,asyncTimeout=3000,syncTimeout=3000,connectRetry=1";

    /// <summary>Finds redis-server and starts it.</summary>
    /// <exception cref="InvalidOperationException">redis-server is not installed.</exception>
    public static async Task<RedisServer> StartAsync()
    {
        var executable = Find("redis-server");
        var directory = System.IO.Directory.CreateTempSubdirectory("dualcluster-redis-").FullName;
        var server = new RedisServer(executable, directory);
        for (var attempt = 1; ; attempt++)
        {
            server.Port = FreePort();
            try
            {
                await server.StartAgainAsync();
                return server;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                // The free port was taken between probing and binding: try another.
            }
        }
    }

    /// <summary>Locates an executable on PATH or in /usr/bin, or explains how to install it.</summary>
    public static string Find(string name)
    {
        var dirs = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries).Append("/usr/bin").Append("/usr/sbin");
        return dirs.Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException($"{name} is not installed. Run eng/install-servers.sh (installs the redis-server and postgresql OS packages) and run the tests again.");
    }

    /// <summary>Starts the server (again) on the same port and data directory, and waits until it answers.</summary>
    public async Task StartAgainAsync()
    {
        var start = new ProcessStartInfo(_executable)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[]
        {
            "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", Directory,
            "--save", string.Empty, "--appendonly", "yes", "--appendfsync", "everysec", "--daemonize", "no",
            "--protected-mode", "no", "--logfile", Path.Combine(Directory, "redis.log"),
        })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with {process.ExitCode}: {ReadLog()}");
            }

            if (await SendAsync("PING\r\n") is { } reply && reply.StartsWith("+PONG", StringComparison.Ordinal))
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"redis-server did not answer within 30 s: {ReadLog()}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Stops the server gracefully (SHUTDOWN writes the AOF), keeping its data directory.</summary>
    public async Task StopAsync()
    {
        var process = _process;
        if (process is null || process.HasExited)
        {
            return;
        }

        await SendAsync("SHUTDOWN\r\n");
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        process.Dispose();
        _process = null;
    }

    /// <summary>Stops the server and deletes its directory.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task<string?> SendAsync(string command)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port).WaitAsync(TimeSpan.FromSeconds(5));
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(command));
            var buffer = new byte[256];
            var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
            return Encoding.ASCII.GetString(buffer, 0, read);
        }
        catch (Exception ex) when (ex is SocketException or IOException or TimeoutException)
        {
            return null;
        }
    }

    private string ReadLog()
    {
        var log = Path.Combine(Directory, "redis.log");
        return File.Exists(log) ? File.ReadAllText(log) : "(no log)";
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
