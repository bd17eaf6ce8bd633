using System.Runtime.InteropServices;

namespace Pattoo.Edge.Pollers.Linux;

/// <summary>A filesystem's size and free space, from statvfs(3).</summary>
public readonly record struct FilesystemStats(ulong SizeBytes, ulong FreeBytes, ulong AvailBytes, ulong Files, ulong FilesFree);

/// <summary>statvfs(3) through libc; the runtime maps "libc" to the C library's real file name.</summary>
public static partial class StatVfs
{
    /// <summary>The filesystem holding <paramref name="path"/>, or null if statvfs fails
    /// (no permission, mount point gone) or this is not Linux.</summary>
    public static FilesystemStats? Query(string path)
    {
        if (!OperatingSystem.IsLinux()) return null;
        NativeStatVfs buf;
        try
        {
            if (NativeStatvfs(path, out buf) != 0) return null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
        // f_frsize is the unit of the block counts; very old kernels left it 0 and meant f_bsize.
        ulong unit = buf.FragmentSize != 0 ? buf.FragmentSize : buf.BlockSize;
        return new FilesystemStats(buf.Blocks * unit, buf.BlocksFree * unit, buf.BlocksAvailable * unit,
            buf.Files, buf.FilesFree);
    }

    /// <summary>
    /// glibc's struct statvfs on LP64 targets (x86-64 and arm64 alike): eleven unsigned longs
    /// (f_bsize, f_frsize, f_blocks, f_bfree, f_bavail, f_files, f_ffree, f_favail, f_fsid, f_flag,
    /// f_namemax) and int __f_spare[6], 112 bytes. Size pads the spare ints.
    /// </summary>
    [StructLayout(LayoutKind.Sequential, Size = 112)]
    internal struct NativeStatVfs
    {
#pragma warning disable CS0649 // written by statvfs, not by managed code
        public ulong BlockSize;
        public ulong FragmentSize;
        public ulong Blocks;
        public ulong BlocksFree;
        public ulong BlocksAvailable;
        public ulong Files;
        public ulong FilesFree;
        public ulong FilesAvailable;
        public ulong FsId;
        public ulong Flags;
        public ulong NameMax;
#pragma warning restore CS0649
    }

    [LibraryImport("libc", EntryPoint = "statvfs", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int NativeStatvfs(string path, out NativeStatVfs buf);
}
