using System.Text;
using AngleSharp.Dom;
using AngleSharp.Html.Parser;

namespace TwilioChannel.Web.Replies;

/// <summary>
/// Turns a Desk reply (text/html) into the plain text a phone shows: paragraphs and &lt;br&gt; become newlines, list
/// items lines ("• …", "1. …"), links "text (url)", entities decoded, quoted history (blockquote, Zoho's quote
/// containers) dropped. On WhatsApp, bold/italic/strike/code become WhatsApp's own markup (*b*, _i_, ~s~, ```m```).
/// &lt;pre&gt; keeps its line breaks and indentation (a ``` block on WhatsApp): its whitespace is written as
/// noncharacters that the whitespace clean-up can't touch, and turned back at the end.
/// Images are never dropped silently (see <see cref="Image"/>): the ones to send as media, or that can't be sent, are
/// reported for the sender to decide.
/// </summary>
internal static partial class HtmlToText
{
    private static readonly HtmlParser Parser = new();

    // Unicode noncharacters: never text a reply can carry (dropped from input), so they safely stand for <pre>'s whitespace.
    private const char KeptSpace = '\uFDD0', KeptTab = '\uFDD1', KeptNewline = '\uFDD2';

    /// <summary>
    /// Written on both sides of an image: the image stands between the words around it, so they must not run into its
    /// text, nor into each other when it leaves none (sent as media). Resolved in <see cref="Normalise"/> to a space
    /// between two words, or to nothing beside whitespace or punctuation.
    /// </summary>
    private const char Apart = '\uFDD3';

    /// <summary>Our own noncharacters (and their neighbours, kept free): dropped from the input so a reply can't fake them.</summary>
    private static bool Reserved(char c) => c is >= '\uFDD0' and <= '\uFDEF';

    /// <summary>
    /// The most HTML elements a reply may have. Parsing is quadratic in the nesting depth (AngleSharp: 20,000 nested
    /// &lt;div&gt; take ≈0.7 s of CPU, 50,000 ≈4.5 s, and a 1 MB push body holds tens of thousands), so a body crafted this way held a
    /// core for seconds per push. An agent's reply has a few hundred elements; a pasted document a few thousand.
    /// </summary>
    public const int MaxElements = 10_000;

    /// <summary>Whether <paramref name="html"/> has more start tags ("&lt;" and a letter) than <see cref="MaxElements"/>:
    /// a linear count before any parsing, an upper bound of the elements the parser would build.</summary>
    public static bool TooManyElements(string html)
    {
        var count = 0;
        for (var i = html.IndexOf('<'); i >= 0 && i < html.Length - 1; i = html.IndexOf('<', i + 1))
            if (char.IsAsciiLetter(html[i + 1]) && ++count > MaxElements) return true;
        return false;
    }

    /// <param name="onDesk">Whether an image's URL is a file on the org's Desk, to send as media (the sender's rule, so
    /// the OAuth token only ever goes to Desk).</param>
    /// <param name="images">The images to send or that can't be sent, in the order they appear; none from the dropped
    /// quoted history.</param>
    public static string Convert(string html, bool whatsApp, Func<Uri, bool> onDesk, out List<InlineImage> images)
    {
        // No closing tag of ours: inside an element left open (<textarea>, <plaintext>) it became text the customer got.
        var document = Parser.ParseDocument("<body>" + html);
        foreach (var dropped in document.QuerySelectorAll(QuotedHistory + ", script, style, head, title").ToList())
            dropped.Remove();
        if (whatsApp) JoinAdjacentRuns(document);

        var text = new StringBuilder();
        var state = new WalkState(onDesk);
        Walk(document.Body!, text, whatsApp, state);
        images = state.Images;
        return Normalise(text.ToString()).Replace(KeptSpace, ' ').Replace(KeptTab, '\t').Replace(KeptNewline, '\n');
    }

    /// <summary>
    /// Joins runs of one kind that touch ("&lt;b&gt;size&lt;/b&gt;&lt;b&gt; 39&lt;/b&gt;", as editors split a bold run
    /// at each change inside it) into one element: written apart, each half was glued to the other, and WhatsApp takes a
    /// marker only at a word's edge, so both were written plain.
    /// </summary>
    private static void JoinAdjacentRuns(IDocument document)
    {
        foreach (var run in document.QuerySelectorAll("b, strong, i, em, s, strike, del").ToList())
        {
            if (run.Parent is null) continue; // joined into the one before it
            while (run.NextSibling is IElement next && RunKind(next) == RunKind(run))
            {
                while (next.FirstChild is { } child) run.AppendChild(child);
                next.Remove();
            }
        }

        static char RunKind(IElement e) => e.LocalName switch
        {
            "b" or "strong" => '*',
            "i" or "em" => '_',
            "s" or "strike" or "del" => '~',
            _ => '\0',
        };
    }

    /// <summary>
    /// Quoted history as mail clients mark it: Zoho Mail's container, Gmail's, Yahoo's, Thunderbird's "On … wrote:" line,
    /// and a blockquote marked as a citation (Apple Mail, Thunderbird). Only these: Desk sends no quoted message to a
    /// channel (resource.json's includeQuotedMessage is false), so anything else in a reply is the agent's own writing.
    /// Every blockquote and every element with "quote" anywhere in its class was dropped by earlier versions, silently
    /// taking a policy the agent quoted, or a paragraph styled "quote-price", away from the customer.
    /// </summary>
    private const string QuotedHistory = "blockquote[type='cite' i], .zmail_extra, .gmail_quote, .yahoo_quoted, .moz-cite-prefix";

    private sealed class WalkState(Func<Uri, bool> onDesk)
    {
        public Stack<int?> Counters { get; } = new();

        public Func<Uri, bool> OnDesk => onDesk;

        public List<InlineImage> Images { get; } = [];

        /// <summary>Inside a link with a target: an image there is the link's face, and the link's target is written.</summary>
        public int InLink { get; set; }

        /// <summary>Where the latest list item's text starts (just after its "• " or "1. "), in the builder it went to.</summary>
        public (StringBuilder Text, int At)? ItemStart { get; set; }

        /// <summary>Whether nothing but whitespace was written since the latest item's bullet or number.</summary>
        public bool AtItemStart(StringBuilder text)
        {
            if (ItemStart is not { } start || !ReferenceEquals(start.Text, text) || text.Length < start.At) return false;
            for (var i = start.At; i < text.Length; i++)
                if (text[i] != ' ') return false;
            return true;
        }

        /// <summary>Inside &lt;pre&gt;: whitespace is kept as written and no WhatsApp markup is added (a ``` block shows
        /// its content literally).</summary>
        public bool Preformatted { get; set; }
    }

    private static void Walk(INode node, StringBuilder text, bool whatsApp, WalkState state)
    {
        foreach (var child in node.ChildNodes)
        {
            if (child is IText t)
            {
                text.Append(state.Preformatted ? KeepWhitespace(t.Data) : CollapseWhitespace(t.Data));
                continue;
            }
            if (child is not IElement e) continue;
            switch (e.LocalName)
            {
                case "br":
                    text.Append(state.Preformatted ? KeptNewline : '\n');
                    break;
                case "hr":
                    // A rule between two pieces of text: without a break they would run together ("ThanksPriya").
                    Block(text);
                    break;
                case "pre" when !state.Preformatted:
                    Preformatted(e, text, whatsApp, state);
                    break;
                case "p" or "div" or "section" or "article" or "h1" or "h2" or "h3" or "h4" or "h5" or "h6" or "table" or "tr"
                    // The other blocks a browser shows on lines of their own: without a break their words ran together.
                    or "header" or "footer" or "main" or "nav" or "aside" or "address" or "center" or "figure" or "figcaption"
                    or "fieldset" or "legend" or "dl" or "dt" or "dd" or "details" or "summary" or "caption" or "hgroup":
                    // An item's first paragraph (<li><p>…</p></li>, as editors and pasted documents write items) goes on
                    // its bullet's line: breaking there put every "•" and "1." on a line of its own above its text.
                    if (!state.AtItemStart(text)) Block(text);
                    Walk(e, text, whatsApp, state);
                    Block(text);
                    break;
                case "ul" or "ol":
                    Block(text);
                    // An <ol start="3"> counts from 3: the agent's "step 3" must not reach the customer as "1.".
                    state.Counters.Push(e.LocalName != "ol" ? null
                        : int.TryParse(e.GetAttribute("start"), out var start) && start is > int.MinValue and < 100_000 ? start - 1 : 0);
                    Walk(e, text, whatsApp, state);
                    state.Counters.Pop();
                    Block(text);
                    break;
                case "li":
                    Block(text);
                    var counter = state.Counters.Count > 0 ? state.Counters.Pop() : null;
                    if (counter is { } n) { state.Counters.Push(n + 1); text.Append(n + 1).Append(". "); }
                    else { state.Counters.Push(null); text.Append("• "); }
                    state.ItemStart = (text, text.Length);
                    Walk(e, text, whatsApp, state);
                    Block(text);
                    break;
                case "a":
                    var before = text.Length;
                    var imagesBefore = state.Images.Count;
                    var href = Plain(e.GetAttribute("href") ?? "");
                    var leads = !string.IsNullOrWhiteSpace(href) && !href.StartsWith("#", StringComparison.Ordinal) && !href.StartsWith("javascript:", StringComparison.OrdinalIgnoreCase);
                    if (leads) state.InLink++;
                    Walk(e, text, whatsApp, state);
                    if (leads) state.InLink--;
                    var label = text.ToString(before, text.Length - before).Replace(Apart.ToString(), "").Trim();
                    if (leads)
                    {
                        var shown = Shown(href);
                        // A Desk image linked to Desk (its own file, its full size): the file goes as media, and a Desk
                        // address only opens with a Desk sign-in, so written out it would be a dead link.
                        var mediaLinkedToDesk = state.Images.Skip(imagesBefore).Any(i => i.Url is not null)
                            && Uri.TryCreate(href, UriKind.Absolute, out var target) && state.OnDesk(target);
                        if (label.Length == 0 && !mediaLinkedToDesk) text.Append(Apart).Append(shown).Append(Apart);
                        // The address is ours, not the agent's: it must not run into the word after the link.
                        else if (label.Length > 0 && !SameAddress(label, shown)) text.Append($" ({shown})").Append(Apart);
                    }
                    break;
                case "b" or "strong" or "i" or "em" or "s" or "strike" or "del" or "code" when state.Preformatted:
                    Walk(e, text, whatsApp, state);
                    break;
                case "b" or "strong" when whatsApp: Wrap(e, text, "*", state); break;
                case "i" or "em" when whatsApp: Wrap(e, text, "_", state); break;
                case "s" or "strike" or "del" when whatsApp: Wrap(e, text, "~", state); break;
                case "code" when whatsApp: Wrap(e, text, "```", state); break;
                case "sup" or "sub" when !state.Preformatted:
                    var scriptFrom = text.Length;
                    Walk(e, text, whatsApp, state);
                    Script(text, scriptFrom, raised: e.LocalName == "sup");
                    break;
                case "img":
                    text.Append(Apart);
                    Image(e, text, state);
                    text.Append(Apart);
                    break;
                case "blockquote":
                    Quote(e, text, whatsApp, state);
                    break;
                case "td" or "th":
                    Walk(e, text, whatsApp, state);
                    text.Append(' ');
                    break;
                default:
                    Walk(e, text, whatsApp, state);
                    break;
            }
        }
    }

    /// <summary>A block of its own, its lines and indentation kept; trailing whitespace dropped (the parser already drops
    /// the newline that may follow &lt;pre&gt;).</summary>
    private static void Preformatted(IElement e, StringBuilder text, bool whatsApp, WalkState state)
    {
        var inner = new StringBuilder();
        state.Preformatted = true;
        Walk(e, inner, whatsApp, state);
        state.Preformatted = false;
        var content = inner.ToString().TrimEnd(KeptSpace, KeptTab, KeptNewline).TrimStart(KeptNewline);
        if (content.Trim(KeptSpace, KeptTab, KeptNewline).Length == 0) return;
        Block(text);
        text.Append(whatsApp ? $"```{content}```" : content);
        Block(text);
    }

    /// <summary>A quotation the agent wrote: its lines each after "> ", which WhatsApp shows as a quote and plain text
    /// reads as one.</summary>
    private static void Quote(IElement e, StringBuilder text, bool whatsApp, WalkState state)
    {
        var inner = new StringBuilder();
        Walk(e, inner, whatsApp, state);
        var quoted = Normalise(inner.ToString());
        if (quoted.Length == 0) return;
        Block(text);
        // A <pre>'s lines inside the quote are quoted too (its newlines are still KeptNewline here).
        foreach (var line in quoted.Replace(KeptNewline, '\n').Split('\n')) text.Append(line.Length == 0 ? ">" : "> " + line).Append('\n');
    }

    /// <summary>A link's target as a phone shows it: without "mailto:" or "tel:".</summary>
    private static string Shown(string href)
    {
        foreach (var scheme in (string[])["mailto:", "tel:"])
            if (href.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) return href[scheme.Length..];
        return href;
    }

    /// <summary>Whether the link's text already is its target (Desk's editor links a typed address, e-mail or URL):
    /// writing the target again made "help@example.com (help@example.com)".</summary>
    private static bool SameAddress(string label, string shown)
    {
        static string Bare(string s) => System.Text.RegularExpressions.Regex.Replace(s.Trim(), "^https?://", "", System.Text.RegularExpressions.RegexOptions.IgnoreCase).TrimEnd('/');
        return string.Equals(Bare(label), Bare(shown), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Marks each line of the element on its own. A marker pair spanning lines isn't markup on WhatsApp, and a
    /// quotation inside (a &lt;blockquote&gt; in &lt;b&gt;) must keep "> " at the start of its lines: "*> text*" is no quote,
    /// so the markers go after the quote marks ("> *text*").
    /// </summary>
    private static void Wrap(IElement e, StringBuilder text, string mark, WalkState state)
    {
        var inner = new StringBuilder();
        Walk(e, inner, whatsApp: true, state);
        // A <pre> first in the element started its block in the element's own text, where there was no line to end.
        if (e.ChildNodes.FirstOrDefault(n => n is IElement || n.TextContent.Trim().Length > 0) is IElement { LocalName: "pre" }) Block(text);
        var lines = inner.ToString().Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (i > 0) text.Append('\n');
            var line = lines[i];
            var quote = QuoteMarks().Match(line).Length;
            text.Append(line, 0, quote);
            var content = line[quote..];
            // An image's separators count as whitespace here: they stay outside the markers.
            var start = 0;
            while (start < content.Length && IsBlank(content[start])) start++;
            if (start == content.Length) { text.Append(content); continue; }
            var end = content.Length;
            while (IsBlank(content[end - 1])) end--;
            // Markers must hug the text ("*bold* ", not "* bold *") or WhatsApp ignores them.
            var (lead, trimmed, tail) = (content[..start], content[start..end], content[end..]);
            // WhatsApp only takes a marker at a word's edge: part of a word in bold ("un<b>believ</b>able") showed its
            // asterisks to the customer, so it stays plain. So does a line holding a code block (a <pre> in <b>):
            // "*```code```*" is neither bold nor code there.
            var gluedBefore = i == 0 && lead.Length == 0 && text.Length > 0 && char.IsLetterOrDigit(text[^1]);
            var gluedAfter = i == lines.Length - 1 && tail.Length == 0 && NextCharacter(e) is { } next && char.IsLetterOrDigit(next);
            if (gluedBefore || gluedAfter || trimmed.Contains("```", StringComparison.Ordinal)) text.Append(content);
            else text.Append(lead).Append(mark).Append(trimmed).Append(mark).Append(tail);
        }
    }

    /// <summary>The first character written after <paramref name="e"/> within its block, if any: the text of the next
    /// node, looking past the ends of the inline elements it closes ("&lt;i&gt;un&lt;b&gt;believ&lt;/b&gt;&lt;/i&gt;able").</summary>
    private static char? NextCharacter(IElement e)
    {
        for (INode? node = e; node is not null; node = node.Parent)
        {
            for (var next = node.NextSibling; next is not null; next = next.NextSibling)
                if (next.TextContent is { Length: > 0 } following) return following[0];
            if (node.Parent is not IElement { LocalName: "b" or "strong" or "i" or "em" or "s" or "strike" or "del" or "code" or "span" or "a" or "u" or "font" }) return null;
        }
        return null;
    }

    private static bool IsBlank(char c) => char.IsWhiteSpace(c) || c == Apart;

    /// <summary>The "> " (or "> > ", or a bare ">" for an empty line) that <see cref="Quote"/> starts a line with.</summary>
    [System.Text.RegularExpressions.GeneratedRegex("^(?:>(?: |$))+")]
    private static partial System.Text.RegularExpressions.Regex QuoteMarks();

    /// <summary>Ends the line at a block boundary. The whitespace before it (the source's indentation and newlines
    /// between tags, collapsed to a space) is no line of its own: only &lt;br&gt; makes empty lines.</summary>
    private static void Block(StringBuilder text)
    {
        // An image's separators go too: there is no word after them on this line, and a media image that wrote no text
        // must not leave a line of its own.
        while (text.Length > 0 && text[^1] is ' ' or Apart) text.Length--;
        if (text.Length > 0 && text[^1] != '\n') text.Append('\n');
    }

    private static string CollapseWhitespace(string s)
    {
        var sb = new StringBuilder(s.Length);
        var space = false;
        foreach (var c in s)
        {
            if (c is ' ' or '\t' or '\r' or '\n') { if (!space) sb.Append(' '); space = true; }
            // A no-break space stays one until Normalise: a paragraph holding only one (<p>&nbsp;</p>, how editors
            // write an empty line) must survive Block's trimming as an empty line.
            else if (!Reserved(c)) { sb.Append(c); space = false; }
        }
        return sb.ToString();
    }

    /// <summary>An address or attribute written as is: without our noncharacters, which it can't be allowed to fake.</summary>
    private static string Plain(string s) => s.Any(Reserved) ? string.Concat(s.Where(c => !Reserved(c))) : s;

    /// <summary>
    /// Resolves the <see cref="Apart"/> marks around images: a space where the image stood between two words (or a word
    /// and its text), nothing next to whitespace, a line's ends, an opening bracket before or punctuation after it
    /// ("(url)", "url.", "*bold*").
    /// </summary>
    private static string Separate(string text)
    {
        if (text.IndexOf(Apart) < 0) return text;
        var sb = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] != Apart) { sb.Append(text[i]); continue; }
            var end = i;
            while (end + 1 < text.Length && text[end + 1] == Apart) end++;
            char? before = sb.Length > 0 ? sb[^1] : null, after = end + 1 < text.Length ? text[end + 1] : null;
            if (before is { } b && after is { } a && !IsSpace(b) && !IsSpace(a) && !"([{\"'“‘¿¡".Contains(b) && !".,;:!?)]}\"'”’…".Contains(a))
                sb.Append(' ');
            i = end;
        }
        return sb.ToString();

        static bool IsSpace(char c) => char.IsWhiteSpace(c) || c is KeptSpace or KeptTab or KeptNewline;
    }

    private static string KeepWhitespace(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var c in s)
        {
            if (c is ' ' or '\u00A0') sb.Append(KeptSpace);
            else if (c == '\t') sb.Append(KeptTab);
            else if (c == '\n') sb.Append(KeptNewline);
            else if (c != '\r' && !Reserved(c)) sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>Trims each line, keeps at most one empty line between paragraphs (an empty line the agent typed stays,
    /// several become one), trims the whole.</summary>
    private static string Normalise(string text)
    {
        text = Separate(text);
        // HTML collapses runs of spaces; element boundaries can leave two side by side. Not no-break spaces: those show
        // as typed (an agent's aligned "Total:   12 €"), so they become spaces only once the plain ones are collapsed.
        var lines = text.Split('\n').Select(l => System.Text.RegularExpressions.Regex.Replace(l, " {2,}", " ").Replace('\u00A0', ' ').Trim());
        var sb = new StringBuilder();
        var blank = 0;
        foreach (var line in lines)
        {
            if (line.Length == 0) { blank++; continue; }
            if (sb.Length > 0) sb.Append(blank > 0 ? "\n\n" : "\n");
            sb.Append(line);
            blank = 0;
        }
        return sb.ToString();
    }
}
