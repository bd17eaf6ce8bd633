namespace Pattoo.Edge.Storage;

/// <summary>Points SQLitePCLRaw at the e_sqlite3 library (linked statically into the AOT binary).</summary>
internal static class SqliteSetup
{
    private static int _done;

    public static void Init()
    {
        if (Interlocked.Exchange(ref _done, 1) == 0) SQLitePCL.Batteries_V2.Init();
    }
}
