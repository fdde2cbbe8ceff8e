using System.Net;
using System.Net.Sockets;
using WireMock.Server;
using WireMock.Settings;

namespace TwilioChannel.Web.Tests.Infrastructure;

/// <summary>WireMock on 127.0.0.1 only (never another interface), as fake Twilio or fake Desk.</summary>
public static class FakeServer
{
    public static WireMockServer Start()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return WireMockServer.Start(new WireMockServerSettings { Urls = [$"http://127.0.0.1:{port}"] });
    }
}
