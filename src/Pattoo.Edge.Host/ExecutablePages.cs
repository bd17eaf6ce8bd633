using System.Globalization;
using System.Runtime.InteropServices;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Host;

/// <summary>
/// The executable's read-only pages (code, constant data) that only the start touched, given back
/// once the appliance has settled. The file is mapped, and the kernel reads ahead and maps
/// 64-128 KB around every page a fault needs: of a 23 MB binary, ~22 MB ended up resident, most
/// of it never used again, and counted in the RSS of a box that idles. The mappings are marked
/// for random access (no read-ahead on the next faults) and their pages paged out; those the
/// running appliance uses come back at their first use, from the page cache or the disk.
/// Clean file pages: nothing is written anywhere.
/// </summary>
internal static partial class ExecutablePages
{
    private const int MadvRandom = 1, MadvPageout = 21;

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int Madvise(nint address, nuint length, int advice);

    /// <summary>Returns the bytes of mappings advised (0 where it does not apply: not Linux, no such mappings).</summary>
    public static long Release()
    {
        if (!OperatingSystem.IsLinux() || Environment.ProcessPath is not { } exe) return 0;
        long advised = 0;
        try
        {
            foreach (string line in File.ReadLines("/proc/self/maps"))
            {
                // "start-end perms offset dev inode path"
                var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length < 6 || fields[5].Trim() != exe || fields[1].Contains('w')) continue;
                int dash = fields[0].IndexOf('-');
                long start = long.Parse(fields[0].AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                long end = long.Parse(fields[0].AsSpan(dash + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                // MADV_PAGEOUT came with Linux 5.4; an older kernel refuses it (EINVAL) and nothing changes.
                if (Madvise((nint)start, (nuint)(end - start), MadvRandom) != 0) continue;
                if (Madvise((nint)start, (nuint)(end - start), MadvPageout) == 0) advised += end - start;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or EntryPointNotFoundException or DllNotFoundException)
        {
            Log.Debug($"memory: the executable's start-up pages were not given back: {e.Message}");
        }
        return advised;
    }
}
