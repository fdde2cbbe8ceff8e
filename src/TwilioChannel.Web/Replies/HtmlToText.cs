using System.Text;
using AngleSharp.Dom;
using AngleSharp.Html.Parser;

namespace TwilioChannel.Web.Replies;

/// <summary>
/// Turns a Desk reply (text/html) into the plain text a phone shows: paragraphs and &lt;br&gt; become newlines, list
/// items lines ("• …", "1. …"), links "text (url)", entities decoded, quoted history (blockquote, Zoho's quote
/// containers) dropped. On WhatsApp, bold/italic/strike/code become WhatsApp's own markup (*b*, _i_, ~s~, ```m```).
/// </summary>
internal static class HtmlToText
{
    private static readonly HtmlParser Parser = new();

    public static string Convert(string html, bool whatsApp)
    {
        var document = Parser.ParseDocument($"<body>{html}</body>");
        foreach (var quote in document.QuerySelectorAll("blockquote, .zmail_extra, .gmail_quote, [class*='quote'], script, style, head").ToList())
            quote.Remove();

        var text = new StringBuilder();
        Walk(document.Body!, text, whatsApp, new ListState());
        return Normalise(text.ToString());
    }

    private sealed class ListState
    {
        public Stack<int?> Counters { get; } = new();
    }

    private static void Walk(INode node, StringBuilder text, bool whatsApp, ListState lists)
    {
        foreach (var child in node.ChildNodes)
        {
            if (child is IText t)
            {
                text.Append(CollapseWhitespace(t.Data));
                continue;
            }
            if (child is not IElement e) continue;
            switch (e.LocalName)
            {
                case "br":
                    text.Append('\n');
                    break;
                case "p" or "div" or "section" or "article" or "h1" or "h2" or "h3" or "h4" or "h5" or "h6" or "table" or "tr":
                    Block(text);
                    Walk(e, text, whatsApp, lists);
                    Block(text);
                    break;
                case "ul" or "ol":
                    Block(text);
                    lists.Counters.Push(e.LocalName == "ol" ? 0 : null);
                    Walk(e, text, whatsApp, lists);
                    lists.Counters.Pop();
                    Block(text);
                    break;
                case "li":
                    Block(text);
                    var counter = lists.Counters.Count > 0 ? lists.Counters.Pop() : null;
                    if (counter is { } n) { lists.Counters.Push(n + 1); text.Append(n + 1).Append(". "); }
                    else { lists.Counters.Push(null); text.Append("• "); }
                    Walk(e, text, whatsApp, lists);
                    Block(text);
                    break;
                case "a":
                    var before = text.Length;
                    Walk(e, text, whatsApp, lists);
                    var label = text.ToString(before, text.Length - before).Trim();
                    var href = e.GetAttribute("href");
                    if (!string.IsNullOrWhiteSpace(href) && !href.StartsWith("#", StringComparison.Ordinal) && label != href && !href.StartsWith("javascript:", StringComparison.OrdinalIgnoreCase))
                        text.Append(label.Length == 0 ? href : $" ({href.Replace("mailto:", "")})");
                    break;
                case "b" or "strong" when whatsApp: Wrap(e, text, "*", lists); break;
                case "i" or "em" when whatsApp: Wrap(e, text, "_", lists); break;
                case "s" or "strike" or "del" when whatsApp: Wrap(e, text, "~", lists); break;
                case "code" or "pre" when whatsApp: Wrap(e, text, "```", lists); break;
                case "img":
                    if (e.GetAttribute("alt") is { Length: > 0 } alt) text.Append(alt);
                    break;
                case "td" or "th":
                    Walk(e, text, whatsApp, lists);
                    text.Append(' ');
                    break;
                default:
                    Walk(e, text, whatsApp, lists);
                    break;
            }
        }
    }

    private static void Wrap(IElement e, StringBuilder text, string mark, ListState lists)
    {
        var inner = new StringBuilder();
        Walk(e, inner, whatsApp: true, lists);
        var content = inner.ToString();
        var trimmed = content.Trim();
        if (trimmed.Length == 0) { text.Append(content); return; }
        // Markers must hug the text ("*bold* ", not "* bold *") or WhatsApp ignores them.
        var lead = content[..(content.Length - content.TrimStart().Length)];
        var tail = content[content.TrimEnd().Length..];
        text.Append(lead).Append(mark).Append(trimmed).Append(mark).Append(tail);
    }

    private static void Block(StringBuilder text)
    {
        if (text.Length > 0 && text[^1] != '\n') text.Append('\n');
    }

    private static string CollapseWhitespace(string s)
    {
        var sb = new StringBuilder(s.Length);
        var space = false;
        foreach (var c in s)
        {
            if (c is ' ' or '\t' or '\r' or '\n') { if (!space) sb.Append(' '); space = true; }
            else { sb.Append(c == '\u00A0' ? ' ' : c); space = false; }
        }
        return sb.ToString();
    }

    /// <summary>Trims each line, keeps at most one empty line between paragraphs, trims the whole.</summary>
    private static string Normalise(string text)
    {
        // HTML collapses runs of spaces; element boundaries can leave two side by side.
        var lines = text.Split('\n').Select(l => System.Text.RegularExpressions.Regex.Replace(l.Trim(), " {2,}", " "));
        var sb = new StringBuilder();
        var blank = 0;
        foreach (var line in lines)
        {
            if (line.Length == 0) { blank++; continue; }
            if (sb.Length > 0) sb.Append(blank > 1 ? "\n\n" : "\n");
            sb.Append(line);
            blank = 0;
        }
        return sb.ToString();
    }
}
