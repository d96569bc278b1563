using System.Net;

namespace DualCluster.RocketMQ.Testing.Remoting;

/// <summary>The loopback name server and broker listeners over any <see cref="IRemotingStore"/>.</summary>
internal sealed class LoopbackServers : IAsyncDisposable
{
    private readonly LoopbackListener _nameServer;
    private readonly LoopbackListener _broker;

    public LoopbackServers(IRemotingStore store, RemotingLoopbackOptions options)
    {
        Options = options;
        Store = store;
        Faults = new RemotingLoopbackFaults(DropConnections);
        Broker = new LoopbackBroker(store, options, Faults, () => new IPEndPoint(IPAddress.Loopback, _broker!.Port));
        _broker = new LoopbackListener(Broker.HandleAsync, Broker.OnConnectionClosed);
        var names = new LoopbackNameServer(store, options, () => BrokerAddress, Faults);
        _nameServer = new LoopbackListener(names.HandleAsync);
    }

    public RemotingLoopbackOptions Options { get; }

    public IRemotingStore Store { get; }

    public RemotingLoopbackFaults Faults { get; }

    public LoopbackBroker Broker { get; }

    public string NameServerAddress => _nameServer.Address;

    public string BrokerAddress => _broker.Address;

    public void Start()
    {
        _broker.Start();
        _nameServer.Start();
    }

    public Task StopBrokerAsync() => _broker.StopAsync();

    public void StartBroker() => _broker.Start(_broker.Port);

    private void DropConnections()
    {
        _broker.CloseConnections();
        _nameServer.CloseConnections();
    }

    public async ValueTask DisposeAsync()
    {
        await _nameServer.DisposeAsync().ConfigureAwait(false);
        await _broker.DisposeAsync().ConfigureAwait(false);
    }
}
