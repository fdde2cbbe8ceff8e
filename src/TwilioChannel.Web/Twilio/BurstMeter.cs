namespace TwilioChannel.Web.Twilio;

/// <summary>
/// Webhooks acknowledged per second over about the last second, from the inbox's acknowledged mark as the projector
/// sees it now and then. Samples closer than <see cref="Spacing"/> are skipped, so the list stays short however often
/// the projector looks; the oldest sample kept is the last one at least <see cref="Window"/> old, so sparse sampling
/// (a quiet service) still spans a whole window instead of reading a short, noisy one.
/// Only the projector's thread uses it.
/// </summary>
internal sealed class BurstMeter(TimeProvider time)
{
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan Spacing = TimeSpan.FromMilliseconds(50);

    private readonly List<(long At, long Acknowledged)> _samples = [];

    /// <summary>Records <paramref name="acknowledged"/> (a count that only grows) and returns the rate per second.</summary>
    public double Observe(long acknowledged)
    {
        var now = time.GetTimestamp();
        if (_samples.Count == 0 || time.GetElapsedTime(_samples[^1].At, now) >= Spacing) _samples.Add((now, acknowledged));
        while (_samples.Count > 2 && time.GetElapsedTime(_samples[1].At, now) >= Window) _samples.RemoveAt(0);
        var (at, first) = _samples[0];
        var span = time.GetElapsedTime(at, now);
        return span < Spacing ? 0 : (acknowledged - first) / span.TotalSeconds;
    }
}
