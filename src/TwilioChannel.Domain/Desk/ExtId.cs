using System.Text;

namespace TwilioChannel.Domain.Desk;

/// <summary>
/// Desk restricts extId characters to A-Z a-z 0-9 @ $ &amp; + : . { } ( ) # - _ (desk-channel-sync.md, "External ID").
/// Anything else is written as '$' followed by the two upper-case hex digits of each UTF-8 byte, so the mapping is
/// deterministic and reversible. '$' escapes itself, and '#' is escaped too: '#' is reserved as our structural separator
/// (ticket generations "whatsapp:+1…#2", continuation parts "SM…#2"), so it can never be confused with data.
/// Twilio SIDs and E.164 / whatsapp: addresses pass unchanged.
/// </summary>
public static class ExtId
{
    public const char Separator = '#';
    private const char Escape = '$';

    public static bool IsAllowed(char c) =>
        c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9')
          or '@' or '$' or '&' or '+' or ':' or '.' or '{' or '}' or '(' or ')' or '#' or '-' or '_';

    public static string Encode(string raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        if (raw.All(c => IsAllowed(c) && c is not Escape and not Separator)) return raw;

        var sb = new StringBuilder(raw.Length + 8);
        Span<byte> buffer = stackalloc byte[4];
        for (var i = 0; i < raw.Length; i++)
        {
            var c = raw[i];
            if (IsAllowed(c) && c is not Escape and not Separator) { sb.Append(c); continue; }

            // Take a whole code point (surrogate pair) so the UTF-8 bytes are well-formed.
            var length = char.IsHighSurrogate(c) && i + 1 < raw.Length && char.IsLowSurrogate(raw[i + 1]) ? 2 : 1;
            var written = Encoding.UTF8.GetBytes(raw.AsSpan(i, length), buffer);
            foreach (var b in buffer[..written]) sb.Append(Escape).Append(b.ToString("X2"));
            i += length - 1;
        }
        return sb.ToString();
    }

    public static string Decode(string encoded)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        if (!encoded.Contains(Escape)) return encoded;

        var bytes = new List<byte>(encoded.Length);
        for (var i = 0; i < encoded.Length; i++)
        {
            if (encoded[i] != Escape)
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(encoded[i].ToString()));
                continue;
            }
            if (i + 2 >= encoded.Length || !byte.TryParse(encoded.AsSpan(i + 1, 2), System.Globalization.NumberStyles.HexNumber, null, out var b))
                throw new FormatException($"Malformed escape at position {i} in extId.");
            bytes.Add(b);
            i += 2;
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <summary>The extId of part <paramref name="part"/> (1-based) of something; part 1 is the base itself.</summary>
    public static string Part(string baseExtId, int part) => part <= 1 ? baseExtId : $"{baseExtId}{Separator}{part}";
}
