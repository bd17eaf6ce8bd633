namespace Pattoo.Edge.Tests.Support;

/// <summary>Finds files of the repository (test cases live beside the code they test).</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Combine(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Pattoo.Edge.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException($"Pattoo.Edge.sln not found above {AppContext.BaseDirectory}");
    }

    /// <summary>The names of the case folders under a testcases directory, for [MemberData].</summary>
    public static TheoryData<string> Cases(params string[] parts)
    {
        var data = new TheoryData<string>();
        foreach (var d in Directory.GetDirectories(Combine(parts)).Order(StringComparer.Ordinal)) data.Add(Path.GetFileName(d));
        return data;
    }
}
