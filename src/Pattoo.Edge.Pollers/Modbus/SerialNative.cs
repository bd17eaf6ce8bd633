using System.Reflection;
using System.Runtime.InteropServices;
using Pattoo.Edge.Common;

namespace Pattoo.Edge.Pollers.Modbus;

/// <summary>
/// System.IO.Ports calls a small native helper, libSystem.IO.Ports.Native.so, that native AOT
/// cannot link statically. To keep the appliance one file the helper may be embedded in this
/// assembly as the resource <c>serial/linux-x64/libSystem.IO.Ports.Native.so</c> (or
/// linux-arm64); at the first serial open it is written to the state directory (or a private
/// temp directory) and loaded from there. Looked for, in order: the runtime's own probing (next
/// to the binary or from the NuGet package in a JIT run), next to the executable, the embedded copy.
/// Nothing of this runs unless a serial device is configured, so TCP never depends on it.
/// </summary>
internal static class SerialNative
{
    public const string LibraryName = "libSystem.IO.Ports.Native";
    private static readonly object Gate = new();
    private static bool _registered;
    private static IntPtr _handle;
    [ThreadStatic] private static bool _resolving;

    /// <summary>Where the embedded helper is written; null = $STATE_DIRECTORY, else a per-user temp directory.</summary>
    public static string? ExtractDirectory { get; set; }

    /// <summary>Where the helper was loaded from, once it has been (for logs and tests).</summary>
    public static string? LoadedFrom { get; private set; }

    public static string ResourceName => $"serial/{RuntimeId}/{LibraryName}.so";

    private static string RuntimeId => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.Arm64 => "linux-arm64",
        Architecture.Arm => "linux-arm",
        _ => "linux-x64",
    };

    public static void EnsureResolver()
    {
        lock (Gate)
        {
            if (_registered) return;
            _registered = true;
            try
            {
                NativeLibrary.SetDllImportResolver(typeof(System.IO.Ports.SerialPort).Assembly, Resolve);
            }
            catch (InvalidOperationException)
            {
                // Another part of the process registered a resolver first: the runtime's probing applies.
            }
        }
    }

    public static bool IsMissing(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is DllNotFoundException or EntryPointNotFoundException) return true;
        }
        return false;
    }

    public static string MissingMessage(string port)
        => $"cannot open {port}: serial support needs {LibraryName}.so, which is neither embedded in this build nor next to the executable "
         + $"({AppContext.BaseDirectory}); copy it there from the System.IO.Ports runtime package (runtimes/{RuntimeId}/native). Modbus TCP works without it.";

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (!name.StartsWith(LibraryName, StringComparison.Ordinal) || _resolving) return IntPtr.Zero;
        lock (Gate)
        {
            if (_handle != IntPtr.Zero) return _handle;
            _resolving = true;
            try
            {
                if (NativeLibrary.TryLoad(name, assembly, searchPath, out var h)) return Loaded(h, "the runtime's search path");
                string beside = Path.Combine(AppContext.BaseDirectory, LibraryName + ".so");
                if (File.Exists(beside) && NativeLibrary.TryLoad(beside, out h)) return Loaded(h, beside);
                string? extracted = Extract();
                if (extracted is not null && NativeLibrary.TryLoad(extracted, out h)) return Loaded(h, extracted);
                return IntPtr.Zero; // the runtime throws DllNotFoundException, turned into a clear error by the caller
            }
            finally
            {
                _resolving = false;
            }
        }
    }

    private static IntPtr Loaded(IntPtr handle, string from)
    {
        _handle = handle;
        LoadedFrom = from;
        Log.Debug($"modbus: serial support loaded from {from}");
        return handle;
    }

    /// <summary>Writes the embedded helper out (once per content) and returns its path, or null when none is embedded.</summary>
    internal static string? Extract()
    {
        using var resource = typeof(SerialNative).Assembly.GetManifestResourceStream(ResourceName);
        if (resource is null) return null;
        var bytes = new byte[resource.Length];
        resource.ReadExactly(bytes);
        return ExtractTo(bytes, ExtractDirectory ?? DefaultDirectory());
    }

    internal static string ExtractTo(byte[] content, string directory)
    {
        ulong hash = 14695981039346656037UL; // FNV-1a: names the file by its content, so versions never collide
        foreach (byte b in content) hash = (hash ^ b) * 1099511628211UL;
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(directory);
        else Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string path = Path.Combine(directory, $"{LibraryName}-{hash:x16}.so");
        if (File.Exists(path) && new FileInfo(path).Length == content.Length) return path;
        string temp = path + "." + Environment.ProcessId + ".tmp";
        File.WriteAllBytes(temp, content);
        File.Move(temp, path, overwrite: true);
        return path;
    }

    private static string DefaultDirectory()
    {
        string? state = Environment.GetEnvironmentVariable("STATE_DIRECTORY");
        if (!string.IsNullOrEmpty(state)) return Path.Combine(state.Split(':')[0], "native");
        return Path.Combine(Path.GetTempPath(), $"pattoo-edge-{Environment.UserName}", "native");
    }
}
