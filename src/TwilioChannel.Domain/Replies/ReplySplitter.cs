using System.Globalization;

namespace TwilioChannel.Domain.Replies;

/// <summary>
/// Twilio takes at most 1600 characters per message body. A longer reply goes out as several messages, in order, cut
/// at the last sentence end (". ", "! ", "? ", newline) in the second half of a part, else at the last whitespace, else
/// at a text-element boundary. Nothing is dropped: trimming only removes the whitespace at a cut.
/// </summary>
public static class ReplySplitter
{
    public const int TwilioBodyLimit = 1600;

    public static IReadOnlyList<string> Split(string text, int limit = TwilioBodyLimit)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 16);
        var parts = new List<string>();
        var rest = text.Trim();
        while (rest.Length > limit)
        {
            var cut = Cut(rest, limit);
            parts.Add(rest[..cut].TrimEnd());
            rest = rest[cut..].TrimStart();
        }
        if (rest.Length > 0 || parts.Count == 0) parts.Add(rest);
        return parts;
    }

    private const string Fence = "```";

    /// <summary>
    /// <see cref="Split"/> for WhatsApp text: WhatsApp pairs ``` fences within one message only, so a monospace block
    /// (a &lt;pre&gt;) cut between two messages showed its fences as text in both and lost its layout. A part that ends
    /// inside a block now closes it and the next part reopens it; the parts are cut shorter by the two fences' length
    /// so they stay within <paramref name="limit"/>.
    /// </summary>
    public static IReadOnlyList<string> SplitKeepingMonospace(string text, int limit = TwilioBodyLimit)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.Contains(Fence, StringComparison.Ordinal)) return Split(text, limit);
        var parts = Split(text, limit - 2 * Fence.Length);
        var result = new List<string>(parts.Count);
        var open = false;
        foreach (var cut in parts)
        {
            var part = open ? Fence + cut : cut;
            open = Fences(part) % 2 == 1;
            result.Add(open ? part + Fence : part);
        }
        return result;
    }

    private static int Fences(string part)
    {
        var count = 0;
        for (var i = part.IndexOf(Fence, StringComparison.Ordinal); i >= 0; i = part.IndexOf(Fence, i + Fence.Length, StringComparison.Ordinal)) count++;
        return count;
    }

    private static int Cut(string text, int limit)
    {
        var window = SafeLength(text, limit);
        var half = window / 2;
        for (var i = window - 1; i >= half; i--)
        {
            if (text[i] == '\n') return i + 1;
            if (char.IsWhiteSpace(text[i]) && i > 0 && text[i - 1] is '.' or '!' or '?' or '。' or '…') return i + 1;
        }
        for (var i = window - 1; i >= half; i--)
            if (char.IsWhiteSpace(text[i])) return i + 1;
        return window;
    }

    /// <summary>The longest prefix of at most <paramref name="limit"/> code units that ends on a text-element boundary.</summary>
    private static int SafeLength(string text, int limit)
    {
        var length = 0;
        while (length < text.Length)
        {
            var next = length + StringInfo.GetNextTextElementLength(text, length);
            if (next > limit) break;
            length = next;
        }
        return length > 0 ? length : Math.Min(limit, text.Length);
    }
}
