using System.Text;
using System.Text.RegularExpressions;
using AngleSharp.Dom;

namespace TwilioChannel.Web.Replies;

// How HtmlToText writes or reports an <img>: nothing an agent wrote is dropped silently.
internal static partial class HtmlToText
{
    /// <summary>An &lt;img&gt; the text doesn't carry. <see cref="Url"/>: the Desk file to send as media; null when the
    /// image can't be sent at all (pasted as a data: URI, no source, a relative one). <see cref="Src"/>: as written.</summary>
    internal sealed record InlineImage(string Src, Uri? Url);

    /// <summary>
    /// An image on the org's Desk (the editor's inline image) goes as media: reported, its alt text kept only when it
    /// says something (not when empty or a file name, which is what editors fill in and tells the customer nothing
    /// beside the picture itself). An image elsewhere is written like a link, "alt (url)" or the bare url, and not
    /// fetched: a public image is one tap away. One without a usable source (pasted as data:, none, relative) is
    /// reported as unsendable: the reply must fail rather than go without it. Inside a link, only the link's target is
    /// written.
    /// </summary>
    private static void Image(IElement e, StringBuilder text, WalkState state)
    {
        var src = Plain(e.GetAttribute("src")?.Trim() ?? "");
        var alt = CollapseWhitespace(e.GetAttribute("alt") ?? "").Trim();
        // "/path" parses as an absolute file: URI on Unix: the scheme check refuses it with the rest.
        if (!Uri.TryCreate(src, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            state.Images.Add(new(src, null));
        else if (state.OnDesk(url))
        {
            state.Images.Add(new(src, url));
            if (alt.Length > 0 && !FileName().IsMatch(alt)) text.Append(alt);
        }
        // A linked banner or button: the link's target is what the customer should tap (the link writes it), not
        // the picture's own file; only a meaningful alt stays, as the link's text.
        else if (state.InLink > 0) { if (alt.Length > 0 && !FileName().IsMatch(alt)) text.Append(alt); }
        else if (alt.Length == 0) text.Append(src);
        else text.Append(alt).Append(SameAddress(alt, src) ? "" : $" ({src})");
    }

    [GeneratedRegex(@"^\S+\.[A-Za-z0-9]{2,5}$")]
    private static partial Regex FileName();
}
