using System.Text;

namespace TwilioChannel.Web.Replies;

// How HtmlToText writes <sup> and <sub>: a message has no raised or lowered text, and flattened "10<sup>6</sup>" read
// "106" and "m<sup>2</sup>" "m2", a different number (acceptance-style run).
internal static partial class HtmlToText
{
    private const string Scriptable = "0123456789+-=()";
    private const string Raised = "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾";
    private const string Lowered = "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎";

    /// <summary>
    /// Rewrites what <paramref name="e"/> wrote from <paramref name="from"/> on. Digits and signs take Unicode's
    /// superscript or subscript forms ("10⁶", "m²", "H₂O"), which every phone shows. A superscript with anything else
    /// is kept as letters when it is letters (an ordinal's "1st", a "TM"), else marked "^(…)" so "2<sup>x+1</sup>"
    /// can't read "2x+1"; a subscript with anything else stays as written.
    /// </summary>
    private static void Script(StringBuilder text, int from, bool raised)
    {
        // The spaces around what it wrote stay where they are, outside.
        var end = text.Length;
        while (from < end && IsBlank(text[from])) from++;
        while (end > from && IsBlank(text[end - 1])) end--;
        if (from == end) return;
        var written = text.ToString(from, end - from);
        if (written.All(c => Scriptable.Contains(c)))
        {
            var forms = raised ? Raised : Lowered;
            for (var i = from; i < end; i++) text[i] = forms[Scriptable.IndexOf(text[i])];
        }
        else if (raised && !written.All(char.IsLetter))
            text.Insert(end, ')').Insert(from, "^(");
    }
}
