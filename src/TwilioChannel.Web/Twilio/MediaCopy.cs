namespace TwilioChannel.Web.Twilio;

/// <summary>
/// Streams a media file from Twilio to the response, at most Twilio:MaxMediaBytes of it. A file whose Content-Length
/// is over the limit is refused before this runs; one without a Content-Length (chunked) can only be measured as it
/// comes. Buffering such a file whole before answering would give every oversized one a clean 502, but costs up to
/// 64 MB of memory per download, so instead the first buffer-full (80 KB) is held back before anything is sent: a small
/// file is then answered whole, with its Content-Length, and one over a small limit with a 502. Past that the response
/// has started, its status is out, and the only honest signal left to HTTP is to cut the transfer (the caller aborts).
/// </summary>
internal static class MediaCopy
{
    public const int BufferSize = 81920;

    public enum Outcome
    {
        /// <summary>The whole file went out.</summary>
        Copied,

        /// <summary>Over the limit before anything was sent: the response is still free for an error.</summary>
        TooLargeNothingSent,

        /// <summary>Over the limit with part of the file out: only an aborted connection tells the client.</summary>
        TooLargePartSent,
    }

    /// <summary>Each read from upstream gets a fresh timeout; the timer is off while we write, so a slow reader on our
    /// side is not taken for a slow Twilio.</summary>
    public static async Task<(Outcome Outcome, long Bytes)> CopyAsync(
        Stream source, HttpResponse destination, long limit, CancellationTokenSource upstream, TimeSpan timeout, CancellationToken ct)
    {
        var buffer = new byte[BufferSize];
        var (held, ended) = await FillAsync(source, buffer, upstream, timeout);
        if (held > limit) return (Outcome.TooLargeNothingSent, 0);
        if (ended) destination.ContentLength ??= held;
        upstream.CancelAfter(Timeout.InfiniteTimeSpan);
        await destination.Body.WriteAsync(buffer.AsMemory(0, held), ct);
        if (ended) return (Outcome.Copied, held);

        long total = held;
        while (true)
        {
            upstream.CancelAfter(timeout);
            var read = await source.ReadAsync(buffer, upstream.Token);
            if (read == 0) return (Outcome.Copied, total);
            if (total + read > limit) return (Outcome.TooLargePartSent, total);
            total += read;
            upstream.CancelAfter(Timeout.InfiniteTimeSpan);
            await destination.Body.WriteAsync(buffer.AsMemory(0, read), ct);
        }
    }

    /// <summary>Reads until the buffer is full or the body ended.</summary>
    private static async Task<(int Held, bool Ended)> FillAsync(Stream source, byte[] buffer, CancellationTokenSource upstream, TimeSpan timeout)
    {
        var held = 0;
        while (held < buffer.Length)
        {
            upstream.CancelAfter(timeout);
            var read = await source.ReadAsync(buffer.AsMemory(held), upstream.Token);
            if (read == 0) return (held, true);
            held += read;
        }
        return (held, false);
    }
}
