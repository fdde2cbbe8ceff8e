using TwilioChannel.Web.Replies;

namespace TwilioChannel.Web.Tests.Replies;

public sealed class HtmlToTextTests
{
    /// <summary>The text alone: no image counts as Desk's, so every http(s) image is written like a link.</summary>
    private static string Text(string html, bool whatsApp) => HtmlToText.Convert(html, whatsApp, _ => false, out _);

    [Fact]
    public void TheFixturesHtmlBecomesWhatsAppMarkup() =>
        Assert.Equal("Hi Ana! We've changed your order to *size 39*.", Text("<div>Hi Ana! We've changed your order to <b>size 39</b>.</div>", whatsApp: true));

    [Theory]
    [InlineData("<dl><dt>Order</dt><dd>Shipped</dd></dl>", "Order\nShipped")]
    [InlineData("<header>Hi Ana</header><footer>Priya</footer>", "Hi Ana\nPriya")]
    [InlineData("<address>12 Main St</address>Thanks", "12 Main St\nThanks")]
    [InlineData("<center>Notice</center>Thanks", "Notice\nThanks")]
    [InlineData("<figure>Photo<figcaption>Your parcel</figcaption></figure>", "Photo\nYour parcel")]
    [InlineData("<fieldset><legend>Steps</legend>Restart it</fieldset>", "Steps\nRestart it")]
    [InlineData("<details><summary>Refunds</summary>Within 30 days</details>", "Refunds\nWithin 30 days")]
    [InlineData("<main>Body</main><nav>Links</nav><aside>Note</aside>", "Body\nLinks\nNote")]
    public void BlockElementsKeepTheirWordsApart(string html, string expected) =>
        // Only some blocks broke a line: the text of the others ran together ("OrderShipped", "12 Main StThanks"), words
        // the agent wrote apart reaching the customer joined (text pasted from a web page or a document keeps them).
        Assert.Equal(expected, Text(html, whatsApp: false));

    [Theory]
    [InlineData("The limit is 10<sup>6</sup> rows", "The limit is 10⁶ rows")]
    [InlineData("A room of 20 m<sup>2</sup>.", "A room of 20 m².")]
    [InlineData("Use H<sub>2</sub>O, 10<sup>(-3)</sup> <sup>3</sup>/<sub>4</sub>", "Use H₂O, 10⁽⁻³⁾ ³/₄")]
    [InlineData("Your 1<sup>st</sup> order and Brand<sup>TM</sup>", "Your 1st order and BrandTM")]
    [InlineData("Grows as 2<sup>x+1</sup>", "Grows as 2^(x+1)")]
    [InlineData("CO<sub>x</sub> levels", "COx levels")]
    public void RaisedAndLoweredTextKeepsItsMeaning(string html, string expected)
    {
        // Flattened, "10<sup>6</sup>" read "106" and "m<sup>2</sup>" "m2" (acceptance-style run).
        Assert.Equal(expected, Text(html, whatsApp: false));
        Assert.Equal(expected, Text(html, whatsApp: true));
    }

    [Theory]
    [InlineData("Hello <plaintext>a < b", "Hello a < b")]
    [InlineData("Hello <textarea>typed", "Hello typed")]
    [InlineData("Hello <xmp>x", "Hello x")]
    public void AnElementLeftOpenAddsNoMarkupOfOursToTheMessage(string html, string expected) =>
        // The reply was parsed as "<body>" + html + "</body>": inside an element whose text runs to its end tag (or to
        // the end, for <plaintext>), our closing tag became part of what the customer got: "Hello a < b</body>".
        Assert.Equal(expected, Text(html, whatsApp: false));

    [Fact]
    public void OnSmsFormattingIsDroppedButTextKept() =>
        Assert.Equal("Hi Ana! We've changed your order to size 39.", Text("<div>Hi Ana! We've changed your order to <b>size 39</b>.</div>", whatsApp: false));

    [Fact]
    public void ParagraphsAndBreaksBecomeNewlines() =>
        Assert.Equal("Line one\nLine two\nParagraph two", Text("<p>Line one<br>Line two</p><p>Paragraph two</p>", whatsApp: false));

    [Fact]
    public void AnEmptyLineTheAgentTypedIsKept() =>
        // Desk's editor writes an empty line as <div><br></div>: it was dropped, so a greeting, the message and the
        // signature reached the customer as one dense block.
        Assert.Equal("Hi Ana,\n\nYour order shipped.\n\nPriya",
            Text("<div>Hi Ana,<br></div><div><br></div><div>Your order shipped.<br></div><div><br></div><div>Priya<br></div>", whatsApp: false));

    [Fact]
    public void AnEmptyParagraphHoldingOnlyANoBreakSpaceIsAnEmptyLine() =>
        // Editors write an empty paragraph as <p>&nbsp;</p> (an empty one would collapse): the agent's empty line.
        Assert.Equal("Hi Ana,\n\nThanks", Text("<p>Hi Ana,</p><p>&nbsp;</p><p>Thanks</p>", whatsApp: false));

    [Theory]
    [InlineData("a<br><br>b", false)]
    [InlineData("a<br><br><br><br>b", false)]
    [InlineData("a<br><br><br><br>b", true)]
    public void OneOrSeveralEmptyLinesBecomeOne(string html, bool whatsApp) =>
        Assert.Equal("a\n\nb", Text(html, whatsApp));

    [Theory]
    // A no-break space is never collapsed: spaces an agent typed on purpose (an aligned column, "Total:   12 €").
    [InlineData("<p>Total:&nbsp;&nbsp;&nbsp;12 €</p>", "Total:   12 €")]
    [InlineData("<p>a &nbsp;b</p>", "a  b")]
    // Plain spaces still collapse, also where two elements meet.
    [InlineData("<p>a   <span> b</span></p>", "a b")]
    public void NoBreakSpacesAreKeptAsTheAgentTypedThem(string html, string expected) =>
        Assert.Equal(expected, Text(html, whatsApp: false));

    [Theory]
    // Editors split a bold run at every change they make inside it: on WhatsApp each half glued to the other lost its
    // markers (a marker must stand at a word's edge), so the whole word came out plain.
    [InlineData("<b>size</b><b> 39</b>", "*size 39*")]
    [InlineData("<p><strong>un</strong><b>believable</b> offer</p>", "*unbelievable* offer")]
    [InlineData("<i>to</i><em>day</em>", "_today_")]
    // Different kinds stay apart, as before: a bold half glued to an italic one stays plain.
    [InlineData("<b>un</b><i>believable</i>", "unbelievable")]
    public void AdjacentRunsOfOneKindAreOneRunOnWhatsApp(string html, string expected) =>
        Assert.Equal(expected, Text(html, whatsApp: true));

    [Fact]
    public void WhitespaceBetweenBlocksMakesNoEmptyLine() =>
        Assert.Equal("a\nb\n• x\n• y\nc", Text("<p>a</p>\n  <p>b</p>\n<ul>\n  <li>x</li>\n  <li>y</li>\n</ul>\n<div> c </div>\n", whatsApp: false));

    [Fact]
    public void AHorizontalRuleSeparatesTheTextAroundIt() =>
        // It was dropped with nothing in its place: "Thanks" and "Priya" reached the customer as "ThanksPriya".
        Assert.Equal("Thanks\nPriya", Text("<div>Thanks<hr>Priya</div>", whatsApp: false));

    [Fact]
    public void ListsBecomeLines() =>
        Assert.Equal("Steps:\n1. Open the app\n2. Tap Orders\n• milk\n• eggs",
            Text("<p>Steps:</p><ol><li>Open the app</li><li>Tap Orders</li></ol><ul><li>milk</li><li>eggs</li></ul>", whatsApp: false));

    [Fact]
    public void AListItemWrittenAsParagraphsKeepsItsBulletOnItsFirstLine() =>
        // Editors and pasted documents write items as <li><div>…</div></li> or <li><p>…</p></li>: each bullet and
        // number went out on a line of its own, above its text.
        Assert.Equal("• milk\n• eggs\n1. Open the app\nthen log in\n2. Tap Orders",
            Text("<ul><li><div>milk</div></li><li><p>eggs</p></li></ul><ol><li><p>Open the app</p><p>then log in</p></li><li><div>Tap Orders</div></li></ol>", whatsApp: false));

    [Fact]
    public void AnOrderedListKeepsTheNumberItStartsAt() =>
        // <ol start="3"> went out as "1. …": the customer was told step 1 where the agent wrote step 3.
        Assert.Equal("3. Restart the app\n4. Log in", Text("<ol start=\"3\"><li>Restart the app</li><li>Log in</li></ol>", whatsApp: false));

    [Fact]
    public void LinksKeepTheirUrl() =>
        Assert.Equal("Track it here (https://example.com/t?a=1&b=2).", Text("Track it <a href=\"https://example.com/t?a=1&amp;b=2\">here</a>.", whatsApp: false));

    [Fact]
    public void AnAutoLinkedEmailOrPhoneIsWrittenOnce() =>
        // Desk's editor links a typed address: "a@b.c (a@b.c)" went out.
        Assert.Equal("Write to help@example.com or call +14155550100. Or write us (help@example.com).",
            Text("Write to <a href=\"mailto:help@example.com\">help@example.com</a> or call <a href=\"tel:+14155550100\">+14155550100</a>. Or <a href=\"mailto:help@example.com\">write us</a>.", whatsApp: false));

    [Fact]
    public void EntitiesAreDecoded() =>
        Assert.Equal("Tom & Jerry <3 café €5", Text("Tom &amp; Jerry &lt;3 caf&eacute; &euro;5", whatsApp: false));

    [Theory]
    [InlineData("<blockquote type=\"cite\">On Monday you wrote: old stuff</blockquote>")]
    [InlineData("<div class=\"zmail_extra\"><div>On Mon, Ana wrote:</div><blockquote>old stuff</blockquote></div>")]
    [InlineData("<div class=\"gmail_quote\">On Mon, Ana wrote:<blockquote class=\"gmail_quote\">old stuff</blockquote></div>")]
    [InlineData("<div class=\"moz-cite-prefix\">On 24/11, Ana wrote:</div><blockquote type=\"cite\">old stuff</blockquote>")]
    public void QuotedHistoryIsDropped(string history) =>
        Assert.Equal("Thanks!", Text("<div>Thanks!</div>" + history, whatsApp: false));

    [Fact]
    public void AQuotationTheAgentWroteIsKeptAsQuotedLines() =>
        // A plain blockquote is the agent quoting something (Desk sends channels no quoted history): it used to vanish.
        Assert.Equal("Our policy says:\n> Returns within *30 days*.\n> Keep the receipt.\nSo yes!",
            Text("<p>Our policy says:</p><blockquote><p>Returns within <b>30 days</b>.</p><p>Keep the receipt.</p></blockquote><p>So yes!</p>", whatsApp: true));

    [Fact]
    public void EveryLineOfAPreInAQuotationIsQuoted() =>
        Assert.Equal("Run:\n> cd app\n>   make", Text("<p>Run:</p><blockquote><pre>cd app\n  make</pre></blockquote>", whatsApp: false));

    [Fact]
    public void TextInAClassThatMerelyContainsQuoteIsKept() =>
        Assert.Equal("Your quote: 120 EUR\nThanks", Text("<p class=\"price-quote\">Your quote: 120 EUR</p><p>Thanks</p>", whatsApp: false));

    [Fact]
    public void ItalicStrikeAndCodeBecomeWhatsAppMarkupHuggingTheText() =>
        Assert.Equal("_soon_ ~never~ ```code``` *bold* end",
            Text("<i>soon</i> <del>never</del> <code>code</code> <strong> bold </strong>end", whatsApp: true));

    [Fact]
    public void MarkersHugTheTextInsideAnyKindOfSpace() =>
        Assert.Equal("an\u2003*em space*\u2009end", Text("an<b>\u2003em space\u2009</b>end", whatsApp: true));

    [Fact]
    public void ScriptsAndStylesNeverReachTheCustomer() =>
        Assert.Equal("Hello", Text("<style>p{color:red}</style><script>alert(1)</script><p>Hello</p>", whatsApp: false));

    [Fact]
    public void PreKeepsItsLinesAndIndentationOnSms() =>
        Assert.Equal("Run:\nif (a)\n    go();\n\n  done\nThanks",
            Text("<p>Run:</p><pre>if (a)\n    go();\n\n  done\n</pre><p>Thanks</p>", whatsApp: false));

    [Fact]
    public void PreIsOneMonospaceBlockOnWhatsAppWithoutMarkupInside() =>
        Assert.Equal("See:\n```pre\n  *block*<br>\n\tend```\nok",
            Text("See: <pre><code>pre\n  <b>*block*</b>&lt;br&gt;<br>\tend</code>\n\n</pre>ok", whatsApp: true));

    [Fact]
    public void WhitespaceOutsidePreStillCollapses() =>
        Assert.Equal("a b\n```x  y```\nc d", Text("a \n  b<pre>x  y</pre>c   d", whatsApp: true));

    [Fact]
    public void ADocumentTitleIsNotPartOfTheMessage() =>
        // A pasted page's <title> lands in the body when it follows text, and went out as a line of the reply.
        Assert.Equal("Hello Ana", Text("<div>Hello Ana</div><title>Order #123 - Admin</title>", whatsApp: false));

    [Theory]
    // WhatsApp takes a marker only at a word's edge: these showed "un*believ*able" with its asterisks.
    [InlineData("It is un<b>believ</b>able.", "It is unbelievable.")]
    [InlineData("<b>Un</b>believable, <i>really</i>.", "Unbelievable, _really_.")]
    [InlineData("<i>un<b>believ</b></i>able", "unbelievable")]
    [InlineData("<span>re</span><b>fund</b> <b>now</b>!", "refund *now*!")]
    public void PartOfAWordInBoldOrItalicStaysPlainOnWhatsApp(string html, string expected) =>
        Assert.Equal(expected, Text(html, whatsApp: true));

    [Fact]
    public void ACodeBlockInsideBoldIsACodeBlockWithoutBoldMarkers() =>
        // "*```code```*" is neither bold nor monospace on WhatsApp.
        Assert.Equal("Run:\n```dotnet test```\n*done*", Text("Run:<b><pre>dotnet test</pre>done</b>", whatsApp: true));

    [Fact]
    public void AQuotationInsideBoldIsBoldLineByLineAfterTheQuoteMarks() =>
        // The markers wrapped the whole quotation: "*> Returns…" is no quote on WhatsApp (the line must start with
        // "> "), and the bold ran across lines.
        Assert.Equal("*Please note:*\n> *Returns within 30 days.*\n> *Keep the receipt.*\n*Thanks*",
            Text("<strong>Please note:<blockquote><p>Returns within 30 days.</p><p>Keep the receipt.</p></blockquote>Thanks</strong>", whatsApp: true));

    [Fact]
    public void AQuotationThatIsAllBoldStaysAQuote() =>
        Assert.Equal("> _Returns within 30 days._", Text("<i><blockquote>Returns within 30 days.</blockquote></i>", whatsApp: true));

    [Fact]
    public void BoldOverSeveralParagraphsIsBoldOnEachLine() =>
        Assert.Equal("*Step one*\n\n*Step two*", Text("<b><p>Step one</p><p>&nbsp;</p><p>Step two</p></b>", whatsApp: true));

    private static readonly Func<Uri, bool> OnDesk = url => url.Host == "desk.zoho.com";

    [Fact]
    public void AnImageOnDeskIsReportedToGoAsMediaWithAMeaningfulAltKept()
    {
        // An inline image was dropped (only its alt text went out): the customer never saw the screenshot.
        var text = HtmlToText.Convert("<p>Tap here:</p><img src=\"https://desk.zoho.com/api/v1/img/1\" alt=\"The Orders button\"><p>Thanks</p>",
            whatsApp: false, OnDesk, out var images);
        Assert.Equal("Tap here:\nThe Orders button\nThanks", text);
        var image = Assert.Single(images);
        Assert.Equal(new Uri("https://desk.zoho.com/api/v1/img/1"), image.Url);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" alt=\"screenshot.png\"")]
    public void AnImageOnDeskWithAnEmptyOrFileNameAltLeavesNoTextBehind(string alt)
    {
        var text = HtmlToText.Convert($"See:<br><img src=\"https://desk.zoho.com/api/v1/img/1\"{alt}>", whatsApp: true, OnDesk, out var images);
        Assert.Equal("See:", text);
        Assert.Single(images);
    }

    [Fact]
    public void AnImageElsewhereIsWrittenLikeALinkAndNotReported()
    {
        var text = HtmlToText.Convert("Our map: <img src=\"https://cdn.example.com/map.png\" alt=\"the shop\"> or <img src=\"https://cdn.example.com/b.png\">",
            whatsApp: false, OnDesk, out var images);
        Assert.Equal("Our map: the shop (https://cdn.example.com/map.png) or https://cdn.example.com/b.png", text);
        Assert.Empty(images);
    }

    [Theory]
    [InlineData("data:image/png;base64,iVBORw0KGgo=")]
    [InlineData("")]
    [InlineData("/api/v1/img/1")]
    [InlineData("cid:image001.png")]
    public void AnImageWithoutAUsableSourceIsReportedAsUnsendable(string src)
    {
        HtmlToText.Convert($"Look<img src=\"{src}\" alt=\"pasted\">", whatsApp: false, OnDesk, out var images);
        var image = Assert.Single(images);
        Assert.Null(image.Url);
        Assert.Equal(src, image.Src);
    }

    [Fact]
    public void ImagesAreReportedInTheirOrderAndNoneFromQuotedHistory()
    {
        HtmlToText.Convert("<img src=\"https://desk.zoho.com/a\"><p>text</p><img src=\"https://desk.zoho.com/b\">"
            + "<blockquote type=\"cite\">old <img src=\"https://desk.zoho.com/old\"><img src=\"data:image/png;base64,AA==\"></blockquote>",
            whatsApp: false, OnDesk, out var images);
        Assert.Equal(["https://desk.zoho.com/a", "https://desk.zoho.com/b"], images.Select(i => i.Src));
    }

    [Fact]
    public void AnImageBetweenWordsIsSeparatedFromThem() =>
        // "Our maphttps://cdn.example.com/map.pngnear the station": the address ran into the words, and the link
        // a phone makes of it didn't open.
        Assert.Equal("Our map https://cdn.example.com/map.png near the station, the shop (https://cdn.example.com/s.png).",
            Text("Our map<img src=\"https://cdn.example.com/map.png\">near the station,<img src=\"https://cdn.example.com/s.png\" alt=\"the shop\">.", whatsApp: false));

    [Fact]
    public void AnImageInsideALinkIsSeparatedFromTheWordsAroundIt() =>
        Assert.Equal("Order here: https://shop.example.com/order today",
            Text("Order here:<a href=\"https://shop.example.com/order\"><img src=\"https://cdn.example.com/btn.png\"></a>today", whatsApp: false));

    [Theory]
    [InlineData("<img src=\"https://cdn.example.com/btn.png\" alt=\"Order now\">", "Tap Order now (https://shop.example.com/order).")]
    [InlineData("<img src=\"https://cdn.example.com/btn.png\" alt=\"btn.png\">", "Tap https://shop.example.com/order.")]
    [InlineData("<img src=\"https://cdn.example.com/btn.png\"> to order", "Tap to order (https://shop.example.com/order).")]
    public void AnImageInsideALinkLeadsToTheLinksTargetNotToThePicturesFile(string inside, string expected) =>
        // A linked banner or button: what the agent wants tapped is the link. Written like a picture elsewhere, it
        // put the image's own file before the link ("Order now (https://cdn…/btn.png) (https://shop…)"), as if the
        // customer had two places to go.
        Assert.Equal(expected, Text($"Tap <a href=\"https://shop.example.com/order\">{inside}</a>.", whatsApp: false));

    [Fact]
    public void AnImageSentAsMediaLeavesTheWordsAroundItApart()
    {
        // The picture goes as media and leaves no text: "Tap<img>to confirm" reached the customer as "Tapto confirm".
        var text = HtmlToText.Convert("Tap<img src=\"https://desk.zoho.com/api/v1/img/1\">to confirm, <b>then<img src=\"https://desk.zoho.com/api/v1/img/2\"></b>.",
            whatsApp: true, OnDesk, out var images);
        Assert.Equal("Tap to confirm, *then*.", text);
        Assert.Equal(2, images.Count);
    }

    [Theory]
    [InlineData("https://desk.zoho.com/api/v1/img/1")]
    [InlineData("https://desk.zoho.com/api/v1/img/1/original")]
    public void ADeskImageLinkedToDeskIsNotWrittenAsAnAddressTheCustomerCantOpen(string href)
    {
        // The file goes as media; a Desk address (the image's own, or its full-size version) needs a Desk sign-in, so
        // writing it out only adds a dead link.
        var text = HtmlToText.Convert($"See<a href=\"{href}\"><img src=\"https://desk.zoho.com/api/v1/img/1\"></a>below",
            whatsApp: false, OnDesk, out var images);
        Assert.Equal("See below", text);
        Assert.Single(images);
    }

    [Fact]
    public void ADeskImageLinkedElsewhereKeepsTheLinksTarget()
    {
        var text = HtmlToText.Convert("See <a href=\"https://shop.example.com/p/1\"><img src=\"https://desk.zoho.com/api/v1/img/1\"></a>",
            whatsApp: false, OnDesk, out var images);
        Assert.Equal("See https://shop.example.com/p/1", text);
        Assert.Single(images);
    }
}
