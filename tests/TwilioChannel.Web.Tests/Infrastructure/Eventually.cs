namespace TwilioChannel.Web.Tests.Infrastructure;

/// <summary>Waits for background work (delivery loops, Hangfire jobs) to reach a state, failing with what was seen.</summary>
public static class Eventually
{
    public static async Task UntilAsync(Func<bool> condition, string what, int seconds = 15, Func<string>? seen = null)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > until) Assert.Fail($"Timed out after {seconds} s waiting for: {what}" + (seen is null ? "" : $"; last seen: {seen()}"));
            await Task.Delay(25);
        }
    }
}
