using System.Net;

namespace TwilioChannel.Web.Tests.Infrastructure;

/// <summary>
/// Webhooks from one customer posted back to back, far above a test's tiny Inbound:BurstRate, until disposed: while it
/// runs the projection leaves acknowledged webhooks in the inbox (Twilio/InboundProjector), unless a caller needs them.
/// </summary>
internal sealed class InboundBurst : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _posting;
    private int _sent;

    private InboundBurst(ChannelApp app, HttpClient client, string from) => _posting = Task.Run(async () =>
    {
        while (!_stop.IsCancellationRequested)
        {
            var n = Interlocked.Increment(ref _sent) - 1;
            var form = Fixtures.WhatsApp($"burst {n}", from: from, sid: "SM" + n.ToString("x32"));
            using var response = await app.PostInboundAsync(form, client: client, waitStored: false);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    });

    /// <summary>How many webhooks the burst has posted so far.</summary>
    public int Sent => Volatile.Read(ref _sent);

    /// <summary>Starts the burst and returns once the projection has begun to wait.</summary>
    public static async Task<InboundBurst> StartAsync(ChannelApp app, HttpClient client, string from = "whatsapp:+5511900000000")
    {
        // A wait the test's own earlier webhooks began (one webhook on a slow machine can look like 5/s) doesn't count.
        var before = app.Logs.Lines.Count;
        var burst = new InboundBurst(app, client, from);
        await Eventually.UntilAsync(() => app.Logs.Lines.Skip(before).Any(l => l.Contains("they wait in the inbox")), "the burst's wait begun");
        return burst;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _posting;
        _stop.Dispose();
    }
}
