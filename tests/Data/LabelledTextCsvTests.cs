using NanoNet.Data;

namespace NanoNet.Tests.Data;

public class LabelledTextCsvTests
{
    private static LabelledTexts Parse(string csv, int labelColumn = 0, int[]? textColumns = null, bool hasHeader = false,
        IReadOnlyList<string>? classNames = null, char separator = ',') =>
        LabelledTextCsv.Read(new StringReader(csv), "test.csv", labelColumn, textColumns, hasHeader, separator, classNames);

    [Test]
    public void Reads_AG_News_style_rows_with_1_based_labels()
    {
        const string csv = "\"3\",\"Wall St. Bears Claw Back\",\"Reuters - Short-sellers, Wall Street's dwindling band...\"\n" +
                           "\"4\",\"Title, with comma\",\"A \"\"quoted\"\" word\"\r\n" +
                           "\"1\",\"Multi\nline\",\"desc\"\n";
        var data = Parse(csv);
        Assert.That(data.Count, Is.EqualTo(3));
        Assert.That(data.ClassNames, Is.EqualTo(new[] { "1", "3", "4" }));
        Assert.That(data.Labels, Is.EqualTo(new[] { 1, 2, 0 }));
        Assert.That(data.Texts[0], Is.EqualTo("Wall St. Bears Claw Back Reuters - Short-sellers, Wall Street's dwindling band..."));
        Assert.That(data.Texts[1], Is.EqualTo("Title, with comma A \"quoted\" word"));
        Assert.That(data.Texts[2], Is.EqualTo("Multi\nline desc"));
    }

    [Test]
    public void Numeric_labels_sort_as_numbers_and_strings_ordinally()
    {
        Assert.That(Parse("10,a\n9,b\n-1,c\n").ClassNames, Is.EqualTo(new[] { "-1", "9", "10" }));
        var strings = Parse("spam,a\nham,b\nspam,c\n");
        Assert.That(strings.ClassNames, Is.EqualTo(new[] { "ham", "spam" }));
        Assert.That(strings.Labels, Is.EqualTo(new[] { 1, 0, 1 }));
    }

    [Test]
    public void Header_label_column_and_text_columns_are_options()
    {
        const string csv = "text,id,label\r\nfirst,1,pos\r\n\r\nsecond,2,neg";
        var data = Parse(csv, labelColumn: 2, textColumns: [0], hasHeader: true);
        Assert.That(data.Texts, Is.EqualTo(new[] { "first", "second" }));
        Assert.That(data.Labels, Is.EqualTo(new[] { 1, 0 }));
        var tabs = Parse("x\ty z\n", separator: '\t');
        Assert.That(tabs.Texts, Is.EqualTo(new[] { "y z" }));
    }

    [Test]
    public void Quoted_fields_may_be_empty_or_hold_only_quotes_and_empty_text_fields_are_skipped()
    {
        var data = Parse("1,\"\",\"b\"\n2,\"\"\"\"\"\",\"\"\n");
        Assert.That(data.Texts, Is.EqualTo(new[] { "b", "\"\"" }));
    }

    [Test]
    public void The_test_split_reuses_the_training_class_names()
    {
        var train = Parse("1,a\n2,b\n3,c\n4,d\n");
        var test = Parse("4,x\n2,y\n", classNames: train.ClassNames);
        Assert.That(test.Labels, Is.EqualTo(new[] { 3, 1 }));
        var error = Assert.Throws<InvalidDataException>(() => Parse("1,a\n5,b\n", classNames: train.ClassNames));
        Assert.That(error!.Message, Does.Contain("test.csv").And.Contain("line 2").And.Contain("'5'"));
    }

    [Test]
    public void Malformed_input_names_the_file_and_line()
    {
        var unclosed = Assert.Throws<InvalidDataException>(() => Parse("1,ok\n2,\"never\nclosed\n"));
        Assert.That(unclosed!.Message, Does.Contain("test.csv: line 2").And.Contain("never closed"));
        var stray = Assert.Throws<InvalidDataException>(() => Parse("1,\"a\"b\n"));
        Assert.That(stray!.Message, Does.Contain("line 1").And.Contain("'b'"));
        var missing = Assert.Throws<InvalidDataException>(() => Parse("1,a\n\"multi\nline\",x\n3\n"));
        Assert.That(missing!.Message, Does.Contain("line 4").And.Contain("1 field"));
        var empty = Assert.Throws<InvalidDataException>(() => Parse(" ,text\n"));
        Assert.That(empty!.Message, Does.Contain("line 1").And.Contain("empty"));
    }

    [Test]
    public void Reads_a_file_and_makes_a_dataset()
    {
        using var files = new TestFiles();
        string path = files.Write("news.csv", "\uFEFF\"2\",\"good news\"\n\"1\",\"bad news\"\n");
        var data = LabelledTextCsv.Read(path);
        Assert.That(data.Texts, Is.EqualTo(new[] { "good news", "bad news" }));
        var vocabulary = Vocabulary.Build(data.Texts);
        Dataset set = data.ToDataset(vocabulary, 3);
        Assert.That(set.Features.ToArray(), Is.EqualTo(new float[] { 0, 3, 2, 0, 4, 2 }));
        Assert.That(set.Labels.ToArray(), Is.EqualTo(new float[] { 1, 0 }));
    }
}
