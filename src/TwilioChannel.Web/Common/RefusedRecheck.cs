using Microsoft.Extensions.Caching.Memory;

namespace TwilioChannel.Web.Common;

/// <summary>
/// When a cached credential refuses a call, it may have been changed through another instance, which can't clear this
/// instance's cache: it is read again from the database, but at most once per <see cref="Spacing"/> for each key, so a
/// flood of forged calls can't turn into a database read each (Twilio/AccountTokens, Desk/DeskCallers).
/// </summary>
internal static class RefusedRecheck
{
    public static readonly TimeSpan Spacing = TimeSpan.FromSeconds(1);

    /// <summary>True when <paramref name="key"/> may be read again now (and marks it read for the next second).</summary>
    public static bool TryBegin(IMemoryCache cache, string key)
    {
        var marker = "recheck:" + key;
        if (cache.TryGetValue(marker, out _)) return false;
        cache.Set(marker, true, new MemoryCacheEntryOptions { AbsoluteExpirationRelativeToNow = Spacing, Size = 1 });
        return true;
    }
}
