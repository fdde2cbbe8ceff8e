using System.Globalization;

namespace TwilioChannel.Domain.Mapping;

/// <summary>
/// Splits text into parts of at most <c>limit</c> UTF-16 code units (Desk documents thread content as string(255)),
/// so that concatenating the parts gives back the original exactly. Breaks after whitespace when there is some in the
/// second half of a part, and never inside a text element (surrogate pair, emoji sequence, combining accent).
/// </summary>
public static class ContentSplitter
{
    public static IReadOnlyList<string> Split(string text, int limit)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 16);
        if (text.Length <= limit) return [text];

        // Text element boundaries (grapheme clusters): we only ever cut at one of these.
        var boundaries = new List<int>();
        var enumerator = StringInfo.GetTextElementEnumerator(text);
        while (enumerator.MoveNext()) boundaries.Add(enumerator.ElementIndex);
        boundaries.Add(text.Length);

        var parts = new List<string>();
        var start = 0;
        var b = 0;
        while (text.Length - start > limit)
        {
            // Furthest boundary that fits.
            while (b + 1 < boundaries.Count && boundaries[b + 1] - start <= limit) b++;
            var cut = boundaries[b] - start <= limit ? boundaries[b] : start;
            if (cut <= start)
            {
                // A single text element longer than the limit (pathological combining sequence): cut at a code point.
                cut = start + limit;
                if (char.IsLowSurrogate(text[cut])) cut--;
            }
            else
            {
                var wordCut = LastWhitespaceBoundary(text, boundaries, start, b);
                if (wordCut > start + limit / 2) cut = wordCut;
            }
            parts.Add(text[start..cut]);
            start = cut;
            while (b < boundaries.Count && boundaries[b] < start) b++;
        }
        parts.Add(text[start..]);
        return parts;
    }

    // The boundary right after the last whitespace element in (start, boundaries[upTo]].
    private static int LastWhitespaceBoundary(string text, List<int> boundaries, int start, int upTo)
    {
        for (var i = upTo; i > 0 && boundaries[i] > start; i--)
            if (char.IsWhiteSpace(text[boundaries[i] - 1])) return boundaries[i];
        return start;
    }
}
