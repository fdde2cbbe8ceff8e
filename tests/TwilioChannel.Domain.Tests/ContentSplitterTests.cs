using System.Globalization;
using TwilioChannel.Domain.Mapping;

namespace TwilioChannel.Domain.Tests;

public sealed class ContentSplitterTests
{
    [Fact]
    public void ShortTextIsOnePart() => Assert.Equal(["hello"], ContentSplitter.Split("hello", 255));

    [Fact]
    public void TextOfExactlyTheLimitIsOnePart() => Assert.Single(ContentSplitter.Split(new string('a', 255), 255));

    [Fact]
    public void LongTextSplitsAtWordsAndReassemblesExactly()
    {
        var text = string.Join(' ', Enumerable.Range(0, 200).Select(i => $"word{i}"));
        var parts = ContentSplitter.Split(text, 255);
        Assert.True(parts.Count > 1);
        Assert.All(parts, p => Assert.InRange(p.Length, 1, 255));
        Assert.Equal(text, string.Concat(parts));
        // Every part but the last ends right after a space: no word is cut in half.
        Assert.All(parts.SkipLast(1), p => Assert.EndsWith(" ", p));
    }

    [Fact]
    public void TextWithoutSpacesIsCutAtTheLimit()
    {
        var text = new string('x', 600);
        var parts = ContentSplitter.Split(text, 255);
        Assert.Equal([255, 255, 90], parts.Select(p => p.Length));
    }

    [Fact]
    public void EmojiAndAccentsAreNeverCutInHalf()
    {
        // 👩‍👩‍👧 is one text element of 8 UTF-16 units; "é" as e + combining accent is one element of 2 units.
        var text = string.Concat(Enumerable.Repeat("👩‍👩‍👧e\u0301", 120));
        var parts = ContentSplitter.Split(text, 100);
        Assert.Equal(text, string.Concat(parts));
        foreach (var part in parts)
        {
            Assert.InRange(part.Length, 1, 100);
            Assert.False(char.IsLowSurrogate(part[0]));
            Assert.False(CharUnicodeInfo.GetUnicodeCategory(part[0]) == UnicodeCategory.NonSpacingMark);
            Assert.False(part[0] == '\u200D');
        }
    }

    [Fact]
    public void RightToLeftTextKeepsItsCharacters()
    {
        var text = string.Concat(Enumerable.Repeat("مرحبا بكم في متجرنا ", 40));
        Assert.Equal(text, string.Concat(ContentSplitter.Split(text, 255)));
    }

    [Fact]
    public void APathologicalElementLongerThanTheLimitIsStillSplitWithoutLoss()
    {
        var text = "a" + new string('\u0301', 300);
        var parts = ContentSplitter.Split(text, 100);
        Assert.Equal(text, string.Concat(parts));
        Assert.All(parts, p => Assert.InRange(p.Length, 1, 100));
    }
}
