using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Pattoo.Edge.Pollers.Linux;

/// <summary>
/// Reads small kernel text files into buffers that are kept from call to call, so reading
/// /proc every cycle allocates only the file handle. The text returned stays valid until the next read.
/// </summary>
internal sealed class TextFileReader
{
    public enum Outcome { Ok, Missing, Failed }

    // A /proc file is generated on read and reports size 0, so it is read until end of file;
    // this bounds the buffer should something endless be pointed at.
    private const int MaxBytes = 16 * 1024 * 1024;
    private byte[] _bytes = new byte[16 * 1024];
    private char[] _chars = new char[16 * 1024];

    public Outcome Read(string path, out ReadOnlySpan<char> text, out string? error)
    {
        text = default;
        error = null;
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return Outcome.Missing;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = e.Message;
            return Outcome.Failed;
        }
        int total = 0;
        using (handle)
        {
            try
            {
                while (true)
                {
                    if (total == _bytes.Length)
                    {
                        if (_bytes.Length >= MaxBytes)
                        {
                            error = $"larger than {MaxBytes} bytes";
                            return Outcome.Failed;
                        }
                        Array.Resize(ref _bytes, _bytes.Length * 2);
                    }
                    int n = RandomAccess.Read(handle, _bytes.AsSpan(total), total);
                    if (n <= 0) break;
                    total += n;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
            {
                error = e.Message;
                return Outcome.Failed;
            }
        }
        if (_chars.Length < total) _chars = new char[Math.Max(total, _chars.Length * 2)];
        // UTF-8 never yields more chars than bytes; invalid bytes become U+FFFD rather than an error.
        int count = Encoding.UTF8.GetChars(_bytes.AsSpan(0, total), _chars);
        text = _chars.AsSpan(0, count);
        return Outcome.Ok;
    }
}
