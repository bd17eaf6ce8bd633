using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Pattoo.Edge.Storage.HeadLog;

/// <summary>
/// Opens a file for direct I/O (O_DIRECT: writes go to the device as they are, a sector at a
/// time, bypassing the page cache) where Linux says the file's file system supports it.
/// </summary>
internal static unsafe partial class DirectIo
{
    private const int AtFdCwd = -100;
    private const uint StatxDioAlign = 0x2000;   // STATX_DIOALIGN (Linux 6.1)
    private const int StatxSize = 256;
    private const int MaskOffset = 0, DioMemAlignOffset = 152, DioOffsetAlignOffset = 156;
    private const int ORdWr = 2, OCloExec = 0x80000;
    private const int MaxAlignment = 4096;

    /// <summary>
    /// The file opened again with O_DIRECT and the alignment its writes' offsets and lengths
    /// need, or (null, 1) where that is not available: not Linux, a kernel before 6.1 (no
    /// <c>statx</c> alignment to go by), a file system without direct I/O (tmpfs), an
    /// alignment above 4 KiB, or an architecture whose O_DIRECT flag is not known here.
    /// </summary>
    public static (SafeFileHandle? Handle, int Alignment) TryOpen(string path)
    {
        if (!OperatingSystem.IsLinux()) return (null, 1);
        int direct = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 or Architecture.X86 or Architecture.RiscV64 or Architecture.LoongArch64 => 0x4000, // asm-generic O_DIRECT
            Architecture.Arm64 or Architecture.Arm => 0x10000,
            _ => 0,
        };
        if (direct == 0) return (null, 1);
        byte* statx = stackalloc byte[StatxSize];
        new Span<byte>(statx, StatxSize).Clear();
        if (Statx(AtFdCwd, path, 0, StatxDioAlign, statx) != 0) return (null, 1);
        var fields = new ReadOnlySpan<byte>(statx, StatxSize);
        if ((BinaryPrimitives.ReadUInt32LittleEndian(fields[MaskOffset..]) & StatxDioAlign) == 0) return (null, 1);
        uint memory = BinaryPrimitives.ReadUInt32LittleEndian(fields[DioMemAlignOffset..]);
        uint offset = BinaryPrimitives.ReadUInt32LittleEndian(fields[DioOffsetAlignOffset..]);
        if (offset == 0 || memory == 0 || offset > MaxAlignment || memory > MaxAlignment || !uint.IsPow2(offset)) return (null, 1);
        int fd = Open(path, ORdWr | OCloExec | direct);
        if (fd < 0) return (null, 1);
        return (new SafeFileHandle(fd, ownsHandle: true), (int)offset);
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int directory, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);
}
