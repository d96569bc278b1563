using System.Net;
using System.Net.Sockets;
using DualCluster.RocketMQ.Remoting;
using Microsoft.Extensions.Time.Testing;
using static DualCluster.RocketMQ.Tests.Remoting.WireTestContext;

namespace DualCluster.RocketMQ.Tests.Remoting;

/// <summary>The connection's clock and bounded outbox, against a peer that accepts and then never answers or reads.</summary>
public sealed class RemotingConnectionTests
{
    [Fact]
    public async Task A_request_times_out_when_the_fake_clock_passes_its_deadline_and_not_before()
    {
        using var peer = new SilentPeer();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var connection = await RemotingConnection.ConnectAsync(peer.Address, null, SafetyTimeout, default, time);

        var call = connection.InvokeAsync(RemotingCommand.CreateRequest(RequestCode.GetRouteInfoByTopic).Set("topic", "T"), TimeSpan.FromSeconds(3));
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.False(call.IsCompleted);

        time.Advance(TimeSpan.FromSeconds(2));
        var timeout = await Assert.ThrowsAsync<TimeoutException>(() => call.WaitAsync(SafetyTimeout));
        Assert.Contains("No response", timeout.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_full_outbox_refuses_one_way_frames_and_makes_a_request_wait_then_fail_with_a_clear_timeout()
    {
        using var peer = new SilentPeer();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var connection = await RemotingConnection.ConnectAsync(peer.Address, null, SafetyTimeout, default, time, outboxCapacity: 2);

        // The peer never reads: once the socket buffers are full the writer blocks for good and the outbox fills up.
        // Keep it topped up until a whole poll interval passes without the writer taking a frame.
        var big = new byte[4 * 1024 * 1024];
        var queued = 0;
        var lastSeen = -1;
        await WaitUntilAsync(
            () =>
            {
                while (connection.TrySend(RemotingCommand.CreateRequest(RequestCode.HeartBeat, body: big)))
                {
                    queued++;
                }

                var stalled = queued == lastSeen;
                lastSeen = queued;
                return stalled;
            },
            "the writer is blocked with a full outbox");
        Assert.Equal(2, connection.QueuedFrames);
        Assert.Throws<IOException>(() => connection.Send(RemotingCommand.CreateRequest(RequestCode.HeartBeat)));

        var call = connection.InvokeAsync(RemotingCommand.CreateRequest(RequestCode.GetRouteInfoByTopic).Set("topic", "T"), TimeSpan.FromSeconds(3));
        Assert.False(call.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(4));
        var timeout = await Assert.ThrowsAsync<TimeoutException>(() => call.WaitAsync(SafetyTimeout));
        Assert.Contains("outbox", timeout.Message, StringComparison.Ordinal);
        Assert.Equal(2, connection.QueuedFrames); // the request that timed out was never queued
    }

    /// <summary>A loopback TCP peer that accepts one connection and then does nothing with it.</summary>
    private sealed class SilentPeer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly Task<Socket> _accepted;

        public SilentPeer()
        {
            _listener.Start();
            _accepted = _listener.AcceptSocketAsync();
        }

        public string Address => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

        public void Dispose()
        {
            if (_accepted.IsCompletedSuccessfully)
            {
                _accepted.Result.Dispose();
            }

            _listener.Stop();
        }
    }
}
