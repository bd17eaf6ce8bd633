using System.Text;

namespace Pattoo.Edge.Pollers.Linux;

/// <summary>
/// One mount. The spans point into the parsed text and are escaped as the kernel writes them
/// (a blank is "\040"); <see cref="Mounts.Unescape"/> turns them into names.
/// </summary>
public readonly ref struct MountEntry
{
    public MountEntry(ReadOnlySpan<char> device, ReadOnlySpan<char> mountPoint, ReadOnlySpan<char> fsType,
        ReadOnlySpan<char> root, ulong deviceId, bool hasDeviceId)
    {
        Device = device;
        MountPoint = mountPoint;
        FsType = fsType;
        Root = root;
        DeviceId = deviceId;
        HasDeviceId = hasDeviceId;
    }

    /// <summary>The mount source: "/dev/sda1", "overlay", "nas:/export".</summary>
    public ReadOnlySpan<char> Device { get; }
    public ReadOnlySpan<char> MountPoint { get; }
    public ReadOnlySpan<char> FsType { get; }
    /// <summary>The directory of the filesystem that is mounted: "/" unless this is a bind mount of a
    /// subdirectory (mountinfo only; "/" for the mounts format).</summary>
    public ReadOnlySpan<char> Root { get; }
    /// <summary>major &lt;&lt; 32 | minor of the filesystem (mountinfo only).</summary>
    public ulong DeviceId { get; }
    public bool HasDeviceId { get; }
}

/// <summary>
/// Parses the mount table, either /proc/self/mountinfo (preferred: it names each filesystem by
/// device number, so bind mounts can be told apart from distinct filesystems) or
/// /proc/self/mounts (fstab format).
/// </summary>
public static class Mounts
{
    /// <summary>fstab format: "device mountpoint fstype options dump pass".</summary>
    public static MountReader ParseMounts(ReadOnlySpan<char> text, string source, List<string> problems)
        => new(text, mountInfo: false, new ProblemWriter(source, problems));

    /// <summary>"id parent major:minor root mountpoint options [optional fields] - fstype source superoptions".</summary>
    public static MountReader ParseMountInfo(ReadOnlySpan<char> text, string source, List<string> problems)
        => new(text, mountInfo: true, new ProblemWriter(source, problems));

    /// <summary>
    /// Filesystem types that hold no user data (kernel interfaces, memory-backed, read-only images):
    /// charting them shows nothing or a permanently full disk.
    /// </summary>
    public static bool IsIgnoredFsType(ReadOnlySpan<char> fsType) => fsType switch
    {
        "proc" or "sysfs" or "cgroup" or "cgroup2" or "devpts" or "devtmpfs" or "tmpfs" or "ramfs"
            or "autofs" or "mqueue" or "debugfs" or "tracefs" or "securityfs" or "pstore" or "bpf"
            or "configfs" or "fusectl" or "hugetlbfs" or "binfmt_misc" or "nsfs" or "squashfs"
            or "rpc_pipefs" or "selinuxfs" or "efivarfs" or "iso9660" or "erofs"
            or "fuse.lxcfs" or "fuse.gvfsd-fuse" or "fuse.portal" => true,
        _ => false,
    };

    /// <summary>
    /// Mount points that are never user storage, or that container runtimes create and remove
    /// by the hundred (each would become a series that lives for minutes).
    /// </summary>
    public static bool IsIgnoredMountPoint(ReadOnlySpan<char> mountPoint)
        => IsAtOrUnder(mountPoint, "/proc") || IsAtOrUnder(mountPoint, "/sys") || IsAtOrUnder(mountPoint, "/dev")
        || mountPoint.StartsWith("/run/credentials/")
        || mountPoint.StartsWith("/var/lib/docker/")
        || mountPoint.StartsWith("/var/lib/containers/storage/")
        || mountPoint.StartsWith("/var/lib/kubelet/pods/");

    /// <summary>Filesystems whose statvfs can hang when the server is gone.</summary>
    public static bool IsNetworkFsType(ReadOnlySpan<char> fsType) => fsType switch
    {
        "nfs" or "nfs4" or "cifs" or "smb3" or "smbfs" or "ceph" or "glusterfs" or "9p" or "afs"
            or "lustre" or "fuse.sshfs" or "fuse.glusterfs" or "fuse.rclone" or "fuse.s3fs" or "davfs" => true,
        _ => false,
    };

    /// <summary>Undoes the kernel's octal escapes ("\040" blank, "\011" tab, "\012" newline, "\134" backslash).</summary>
    public static string Unescape(ReadOnlySpan<char> escaped)
    {
        if (escaped.IndexOf('\\') < 0) return escaped.ToString();
        var sb = new StringBuilder(escaped.Length);
        for (int i = 0; i < escaped.Length; i++)
        {
            char c = escaped[i];
            if (c == '\\' && IsOctal(escaped, i + 1))
            {
                sb.Append((char)((escaped[i + 1] - '0') * 64 + (escaped[i + 2] - '0') * 8 + (escaped[i + 3] - '0')));
                i += 3;
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }

    private static bool IsOctal(ReadOnlySpan<char> s, int start)
    {
        if (start + 3 > s.Length) return false;
        for (int i = start; i < start + 3; i++)
        {
            if (s[i] is < '0' or > '7') return false;
        }
        return true;
    }

    private static bool IsAtOrUnder(ReadOnlySpan<char> path, string dir)
        => path.StartsWith(dir) && (path.Length == dir.Length || path[dir.Length] == '/');
}

public ref struct MountReader
{
    private SpanLineEnumerator _lines;
    private readonly bool _mountInfo;
    private ProblemWriter _report;
    private int _lineNumber;
    private MountEntry _current;

    internal MountReader(ReadOnlySpan<char> text, bool mountInfo, ProblemWriter report)
    {
        _lines = text.EnumerateLines();
        _mountInfo = mountInfo;
        _report = report;
        _lineNumber = 0;
        _current = default;
    }

    public readonly MountReader GetEnumerator() => this;

    public readonly MountEntry Current => _current;

    public bool MoveNext()
    {
        while (_lines.MoveNext())
        {
            _lineNumber++;
            var line = _lines.Current;
            if (line.IsWhiteSpace()) continue;
            if (_mountInfo ? TryParseMountInfo(line, out _current) : TryParseMounts(line, out _current)) return true;
            _report.Add(_lineNumber, line, "cannot parse");
        }
        return false;
    }

    private static bool TryParseMounts(ReadOnlySpan<char> line, out MountEntry entry)
    {
        entry = default;
        var fields = new FieldReader(line);
        if (!fields.Next(out var device) || !fields.Next(out var mountPoint) || !fields.Next(out var fsType)) return false;
        entry = new MountEntry(device, mountPoint, fsType, "/", 0, hasDeviceId: false);
        return true;
    }

    private static bool TryParseMountInfo(ReadOnlySpan<char> line, out MountEntry entry)
    {
        entry = default;
        var fields = new FieldReader(line);
        if (!fields.Next(out _) || !fields.Next(out _) || !fields.Next(out var majorMinor)
            || !fields.Next(out var root) || !fields.Next(out var mountPoint) || !fields.Next(out _))
        {
            return false;
        }
        int colon = majorMinor.IndexOf(':');
        if (colon <= 0
            || !Numbers.TryParseULong(majorMinor[..colon], out ulong major)
            || !Numbers.TryParseULong(majorMinor[(colon + 1)..], out ulong minor)
            || major > uint.MaxValue || minor > uint.MaxValue)
        {
            return false;
        }
        // Optional fields ("shared:1", "master:2") run up to a lone "-".
        ReadOnlySpan<char> field;
        do
        {
            if (!fields.Next(out field)) return false;
        } while (!field.SequenceEqual("-"));
        if (!fields.Next(out var fsType) || !fields.Next(out var device)) return false;
        entry = new MountEntry(device, mountPoint, fsType, root, major << 32 | minor, hasDeviceId: true);
        return true;
    }
}
