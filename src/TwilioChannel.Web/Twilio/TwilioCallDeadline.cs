namespace TwilioChannel.Web.Twilio;

/// <summary>
/// Cancels a Twilio API call when its caller stops waiting for it. The SDK takes no CancellationToken, so a create whose
/// wait timed out went on in the background: the pipeline's retry of a 429 (after its Retry-After) or a slow connect
/// reached Twilio after the reply had been looked for and sent again, and the customer got it twice (found by a code
/// review). The caller's token reaches this handler, the outermost of the Twilio HttpClient, through the async flow
/// (<see cref="Start"/>), and cancels the request and the retry delays behind it. A request Twilio already received may
/// still be processed; that is the unknown outcome the caller looks for.
/// </summary>
internal sealed class TwilioCallDeadline : DelegatingHandler
{
    private static readonly AsyncLocal<CancellationToken> Current = new();

    /// <summary>Calls made from here on in the calling async method (and what it awaits) end after
    /// <paramref name="timeout"/>; the caller waits on the returned source's token too, so one timer ends both the wait
    /// and the call. An async method's change doesn't outlive it.</summary>
    public static CancellationTokenSource Start(TimeSpan timeout)
    {
        var deadline = new CancellationTokenSource(timeout);
        Current.Value = deadline.Token;
        return deadline;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var deadline = Current.Value;
        if (!deadline.CanBeCanceled) return await base.SendAsync(request, cancellationToken);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline);
        return await base.SendAsync(request, linked.Token);
    }
}
