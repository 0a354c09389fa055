using NanoNet.Data;

namespace NanoNet.Tests.Data;

public class TokenizerTests
{
    private static readonly Tokenizer Keras = new();

    [TestCase("Hello, World!", new[] { "hello", "world" })]
    [TestCase("Great movie!<br /><br />Loved it.", new[] { "great", "movie", "loved", "it" })]
    [TestCase("one<br/>two<BR>three<br  / >four", new[] { "one", "two", "three", "four" })]
    [TestCase("I don't know", new[] { "i", "don't", "know" })]
    [TestCase("well-made (1999) film: 10/10", new[] { "well", "made", "1999", "film", "10", "10" })]
    [TestCase("  tabs\tand\nnewlines\r\nand  spaces ", new[] { "tabs", "and", "newlines", "and", "spaces" })]
    [TestCase("ÉCOLE Café", new[] { "école", "café" })]
    [TestCase("<b>bold</b> <brand>", new[] { "b", "bold", "b", "brand" })]
    [TestCase("", new string[0])]
    [TestCase("?!...", new string[0])]
    public void Splits_like_Keras_and_removes_html_line_breaks(string text, string[] expected) =>
        Assert.That(Keras.Tokenize(text), Is.EqualTo(expected));

    [Test]
    public void Options_keep_case_or_line_breaks_or_use_other_filters()
    {
        Assert.That(new Tokenizer(lowerCase: false).Tokenize("Hello World"), Is.EqualTo(new[] { "Hello", "World" }));
        Assert.That(new Tokenizer(removeHtmlLineBreaks: false).Tokenize("a<br />b"), Is.EqualTo(new[] { "a", "br", "b" }));
        Assert.That(new Tokenizer(filters: ",").Tokenize("a,b.c"), Is.EqualTo(new[] { "a", "b.c" }));
    }

    [Test]
    public void Normalize_shows_the_text_before_splitting()
    {
        Assert.That(Keras.Normalize("A,b<br />C"), Is.EqualTo("a b c"));
    }
}
