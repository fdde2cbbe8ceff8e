namespace TwilioChannel.Domain.Mapping;

/// <summary>
/// A customer-chosen name (WhatsApp's ProfileName) made safe to show beside a phone number. Unicode bidirectional
/// controls in it reorder what follows on screen: "Ana\u202E" before "(+5511987654321)" shows the digits reversed,
/// so one customer can look like another in Desk's ticket list and contact. They carry no visible text, so removing them
/// from names loses nothing a customer wrote; message content is never passed through here and keeps them.
/// </summary>
public static class DisplayName
{
    /// <summary>The name without bidi controls, trimmed; null when nothing visible is left (the phone stands in).</summary>
    public static string? Clean(string? name)
    {
        if (string.IsNullOrWhiteSpace(name)) return null;
        var cleaned = name.IndexOfAny(BidiControls) < 0 ? name : string.Concat(name.Where(c => Array.IndexOf(BidiControls, c) < 0));
        cleaned = cleaned.Trim();
        return cleaned.Length == 0 ? null : cleaned;
    }

    /// <summary>LRM, RLM, ALM; the embeddings and overrides LRE…RLO (U+202A–U+202E); the isolates LRI…PDI (U+2066–U+2069).</summary>
    private static readonly char[] BidiControls =
    [
        '\u200E', '\u200F', '\u061C',
        '\u202A', '\u202B', '\u202C', '\u202D', '\u202E',
        '\u2066', '\u2067', '\u2068', '\u2069',
    ];
}
