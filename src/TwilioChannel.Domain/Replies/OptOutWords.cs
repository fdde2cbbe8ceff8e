namespace TwilioChannel.Domain.Replies;

public enum OptOutChange { None, OptOut, OptIn }

/// <summary>
/// Twilio's default SMS opt-out keywords (single-word messages only). Twilio's Advanced Opt-Out sends OptOutType, which
/// wins when present.
/// </summary>
public static class OptOutWords
{
    private static readonly HashSet<string> Out = new(StringComparer.OrdinalIgnoreCase) { "STOP", "UNSUBSCRIBE", "END", "QUIT", "STOPALL", "REVOKE", "OPTOUT", "CANCEL", "STOP ALL", "OPT OUT" };
    private static readonly HashSet<string> In = new(StringComparer.OrdinalIgnoreCase) { "START", "YES", "UNSTOP" };

    public static OptOutChange Classify(string? body, string? optOutType)
    {
        if (!string.IsNullOrWhiteSpace(optOutType))
        {
            return optOutType.Trim().ToUpperInvariant() switch
            {
                "STOP" => OptOutChange.OptOut,
                "START" => OptOutChange.OptIn,
                _ => OptOutChange.None,
            };
        }
        var word = (body ?? "").Trim().TrimEnd('.', '!');
        if (Out.Contains(word)) return OptOutChange.OptOut;
        if (In.Contains(word)) return OptOutChange.OptIn;
        return OptOutChange.None;
    }
}
