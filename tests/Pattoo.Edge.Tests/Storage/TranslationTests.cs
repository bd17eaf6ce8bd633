using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Tests.Storage;

public class TranslationTests
{
    [Fact]
    public void KeyTranslationCsvReadsPattoosFormat()
    {
        var rows = TranslationCsv.ReadKeyTranslations(
            "language,key,translation,units\nen,pattoo_agent_linux_autonomousd_cpu_frequency,CPU Frequency,Frequency\n\"en\",linux_load_1,\"Load, 1 minute\",\nen,linux_uptime_seconds,Uptime,\"s\"\"\"\n", "keys.csv");
        Assert.Equal(3, rows.Count);
        Assert.Equal(new KeyTranslation("en", "pattoo_agent_linux_autonomousd_cpu_frequency", "CPU Frequency", "Frequency"), rows[0]);
        Assert.Equal("Load, 1 minute", rows[1].Translation);
        Assert.Equal("", rows[1].Units);
        Assert.Equal("s\"", rows[2].Units);
    }

    [Theory]
    [InlineData("", "keys.csv: the file is empty")]
    [InlineData("lang,key,translation,units\n", "keys.csv:1: expected the header language,key,translation,units")]
    [InlineData("language,key,translation,units\nen,a\n", "keys.csv:2: expected 4 columns")]
    [InlineData("language,key,translation,units\nen,a,b,c,d\n", "keys.csv:2: expected 4 columns")]
    [InlineData("language,key,translation,units\n,a,b,c\n", "keys.csv:2: the language column is empty")]
    [InlineData("language,key,translation,units\nen,\"a,b,c\n", "keys.csv:2: a quoted field is not closed")]
    public void BadCsvNamesTheLine(string text, string message)
        => Assert.StartsWith(message, Assert.Throws<CatalogException>(() => TranslationCsv.ReadKeyTranslations(text, "keys.csv")).Message);

    [Fact]
    public async Task ImportsUpsertAndUnknownLanguagesRollBackTheWholeFile()
    {
        await using var t = new TempStore();
        var catalog = t.Store.Catalog;
        Assert.Equal(2, catalog.ImportKeyTranslations(1, [new("en", "linux_load_1", "Load", ""), new("EN", "linux_temp", "Temperature", "°C")]));
        Assert.Equal(1, catalog.ImportKeyTranslations(1, [new("en", "linux_load_1", "Load (1 min)", "")]));
        var e = Assert.Throws<CatalogException>(() => catalog.ImportKeyTranslations(1, [new("en", "x", "X", ""), new("es", "y", "Y", "")]));
        Assert.Contains("unknown language \"es\"", e.Message);
        catalog.UpsertLanguage("es", "Spanish");
        Assert.Equal(1, catalog.ImportAgentTranslations([new("es", "linux", "Linux (anfitrión)")]));
        var snap = catalog.Snapshot();
        Assert.Equal(["Load (1 min)", "Temperature"], snap.PairXlates.OrderBy(x => x.Key).Select(x => x.Translation));
        Assert.DoesNotContain(snap.PairXlates, x => x.Key == "x");
        Assert.Equal("Linux (anfitrión)", Assert.Single(snap.AgentXlates).Translation);
        Assert.Equal(2, catalog.CreatePairXlateGroup("Boiler room").IdxPairXlateGroup);
        Assert.Contains("there is no translation group 9", Assert.Throws<CatalogException>(() => catalog.ImportKeyTranslations(9, [])).Message);
    }
}
