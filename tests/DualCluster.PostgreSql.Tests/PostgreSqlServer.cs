using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace DualCluster.PostgreSql.Tests;

/// <summary>
/// A throw-away PostgreSQL cluster (<c>initdb</c> + <c>pg_ctl</c> from the OS package, found under
/// /usr/lib/postgresql/&lt;version&gt;/bin) on a free loopback port in a temp dir. PostgreSQL refuses to run as root, so
/// as root the dir is given to the <c>postgres</c> OS user and the tools run as that user. Never a machine-wide service.
/// </summary>
public sealed class PostgreSqlServer : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _settings;

    private PostgreSqlServer(string bin, string directory, string settings)
    {
        _bin = bin;
        Directory = directory;
        _settings = settings;
    }

    /// <summary>The loopback port.</summary>
    public int Port { get; private set; }

    /// <summary>The temp dir holding data, socket and log.</summary>
    public string Directory { get; }

    private string DataDirectory => Path.Combine(Directory, "data");

    /// <summary>A connection string for the superuser, failing fast while the server is down.</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Timeout=5;Command Timeout=30;Max Auto Prepare=8";

    /// <summary>Runs initdb and starts the server.</summary>
    /// <param name="settings">Extra <c>-c name=value</c> server settings; tests turn fsync off.</param>
    /// <exception cref="InvalidOperationException">PostgreSQL is not installed.</exception>
    public static async Task<PostgreSqlServer> StartAsync(string settings = "-c fsync=off -c full_page_writes=off")
    {
        var bin = FindBin();
        var directory = System.IO.Directory.CreateTempSubdirectory("dualcluster-pg-").FullName;
        var server = new PostgreSqlServer(bin, directory, settings);
        if (Environment.UserName == "root")
        {
            await RunAsync("chown", ["postgres:postgres", directory]);
        }

        await server.RunAsUserAsync("initdb", ["-D", server.DataDirectory, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"]);
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

    /// <summary>Starts the server (again) on the same port and data, and waits until it accepts connections.</summary>
    public Task StartAgainAsync() => RunAsUserAsync("pg_ctl",
    [
        "start", "-D", DataDirectory, "-l", Path.Combine(Directory, "server.log"), "-w", "-t", "60", "-s",
        "-o", $"-p {Port.ToString(CultureInfo.InvariantCulture)} -c listen_addresses=127.0.0.1 -k {Directory} -c max_connections=200 {_settings}",
    ]);

    /// <summary>Stops the server (fast shutdown: running statements are cancelled, data kept).</summary>
    public Task StopAsync() => RunAsUserAsync("pg_ctl", ["stop", "-D", DataDirectory, "-m", "fast", "-w", "-t", "60", "-s"]);

    /// <summary>Stops the server and deletes its dir.</summary>
    public async ValueTask DisposeAsync()
    {
        if (File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
        {
            await StopAsync();
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string FindBin()
    {
        var root = "/usr/lib/postgresql";
        var bin = System.IO.Directory.Exists(root)
            ? System.IO.Directory.GetDirectories(root)
                .Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0)
                .FirstOrDefault()
            : null;
        return bin ?? throw new InvalidOperationException(
            "PostgreSQL server binaries (initdb, pg_ctl under /usr/lib/postgresql/<version>/bin) are not installed. " +
            "Run eng/install-servers.sh (installs the redis-server and postgresql OS packages) and run the tests again.");
    }

    private Task RunAsUserAsync(string tool, IReadOnlyList<string> args)
    {
        var path = Path.Combine(_bin, tool);
        return Environment.UserName == "root"
            ? RunAsync("runuser", ["-u", "postgres", "--", path, .. args])
            : RunAsync(path, args);
    }

    private static async Task RunAsync(string file, IReadOnlyList<string> args)
    {
        var start = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {process.ExitCode}: {await output} {await error}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
