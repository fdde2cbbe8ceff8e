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
        var trimmed = text.Trim();
        return Segments(trimmed, limit).Select(r => trimmed[r]).ToList();
    }

    /// <summary>Where <see cref="Split"/> cuts <paramref name="text"/> (already trimmed): each part's range in it, without
    /// the whitespace at the cuts. At least one (empty for an empty text).</summary>
    internal static List<Range> Segments(string text, int limit)
    {
        var segments = new List<Range>();
        var start = 0;
        while (text.Length - start > limit)
        {
            var cut = start + Cut(text.AsSpan(start), limit);
            var end = cut;
            while (end > start && char.IsWhiteSpace(text[end - 1])) end--;
            segments.Add(start..end);
            start = cut;
            while (start < text.Length && char.IsWhiteSpace(text[start])) start++;
        }
        if (start < text.Length || segments.Count == 0) segments.Add(start..text.Length);
        return segments;
    }

    private static int Cut(ReadOnlySpan<char> text, int limit)
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
    private static int SafeLength(ReadOnlySpan<char> text, int limit)
    {
        var length = 0;
        while (length < text.Length)
        {
            var next = length + StringInfo.GetNextTextElementLength(text[length..]);
            if (next > limit) break;
            length = next;
        }
        return length > 0 ? length : Math.Min(limit, text.Length);
    }
}
