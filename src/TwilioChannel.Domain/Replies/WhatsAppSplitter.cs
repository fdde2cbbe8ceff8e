namespace TwilioChannel.Domain.Replies;

/// <summary>
/// <see cref="ReplySplitter.Split"/> for WhatsApp text, keeping its formatting whole across the parts. WhatsApp pairs
/// markers within one message only: a monospace block (```…```) or a bold, italic or strikethrough run (*…*, _…_, ~…~)
/// cut between two messages showed its markers as text in both and lost its formatting. A part that ends inside one
/// now closes it and the next part reopens it. The parts are cut shorter by the markers' room (a fence and three runs,
/// closed and reopened) so they stay within the limit.
/// </summary>
public static class WhatsAppSplitter
{
    private const string Fence = "```";
    private const string RunMarks = "*_~";

    /// <summary>A fence and the three kinds of run, each closed at a part's end and reopened at the next one's start.</summary>
    private const int MarkersRoom = 2 * (3 + 3);

    public static IReadOnlyList<string> Split(string text, int limit = ReplySplitter.TwilioBodyLimit)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.AsSpan().IndexOfAny("*_~`") < 0) return ReplySplitter.Split(text, limit);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 16 + MarkersRoom);
        var trimmed = text.Trim();
        var segments = ReplySplitter.Segments(trimmed, limit - MarkersRoom);
        var parts = new List<string>(segments.Count);
        var reopen = "";
        for (var i = 0; i < segments.Count; i++)
        {
            var part = reopen + trimmed[segments[i]];
            reopen = "";
            if (i + 1 < segments.Count)
            {
                var (close, open) = Crossing(trimmed, segments[i].End.Value, segments[i + 1].Start.Value);
                part += close;
                reopen = open;
            }
            parts.Add(part);
        }
        return parts;
    }

    /// <summary>The markers that close what is open at a cut (between <paramref name="end"/> and
    /// <paramref name="next"/>, whitespace only) and reopen it after.</summary>
    private static (string Close, string Open) Crossing(string text, int end, int next)
    {
        // Inside a monospace block nothing else is formatting: the block alone is closed and reopened.
        if (FencesBefore(text, end) % 2 == 1) return (Fence, Fence);
        // Runs don't span lines (WhatsApp's, and the HTML conversion writes markers per line): a cut at a line break
        // has none to keep.
        if (text.AsSpan(end, next - end).Contains('\n')) return ("", "");
        var lineStart = text.LastIndexOf('\n', end - 1) + 1;
        var lineEnd = text.IndexOf('\n', next);
        var line = text.AsSpan(lineStart, (lineEnd < 0 ? text.Length : lineEnd) - lineStart);
        if (line.Contains(Fence, StringComparison.Ordinal)) return ("", "");
        var crossing = Runs(line).Where(r => r.Open < end - lineStart - 1 && r.Close > next - lineStart).ToList();
        if (crossing.Count == 0) return ("", "");
        // Inner runs close first and open last, so "*_both_*" stays nested in both parts.
        return (string.Concat(crossing.AsEnumerable().Reverse().Select(r => r.Mark)), string.Concat(crossing.Select(r => r.Mark)));
    }

    /// <summary>
    /// The formatted runs of one line, in the order they open, by WhatsApp's rule: an opening marker follows the line's
    /// start or a character that is no letter or digit and comes before text; a closing one follows text and comes
    /// before the line's end or a character that is no letter or digit. So "5 * 3", "snake_case" and "~20 min" stay text.
    /// </summary>
    private static List<(int Open, int Close, char Mark)> Runs(ReadOnlySpan<char> line)
    {
        var runs = new List<(int Open, int Close, char Mark)>();
        var open = new List<(int At, char Mark)>();
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (RunMarks.IndexOf(c) < 0) continue;
            var before = i > 0 ? line[i - 1] : ' ';
            var after = i + 1 < line.Length ? line[i + 1] : ' ';
            var opener = open.FindLastIndex(o => o.Mark == c);
            if (opener >= 0 && !char.IsWhiteSpace(before) && !char.IsLetterOrDigit(after) && i > open[opener].At + 1)
            {
                runs.Add((open[opener].At, i, c));
                open.RemoveRange(opener, open.Count - opener);
            }
            else if (!char.IsLetterOrDigit(before) && !char.IsWhiteSpace(after))
                open.Add((i, c));
        }
        runs.Sort((a, b) => a.Open.CompareTo(b.Open));
        return runs;
    }

    /// <summary>How many fences <paramref name="text"/> has before <paramref name="end"/>.</summary>
    private static int FencesBefore(string text, int end)
    {
        var count = 0;
        for (var i = text.IndexOf(Fence, 0, end, StringComparison.Ordinal); i >= 0;
             i = i + Fence.Length < end ? text.IndexOf(Fence, i + Fence.Length, end - i - Fence.Length, StringComparison.Ordinal) : -1)
            count++;
        return count;
    }
}
