using System.ComponentModel;
using System.Diagnostics;

namespace Pattoo.Edge;

/// <summary>Runs a system tool (systemctl, stat, chown, timedatectl) for the administration commands.</summary>
internal static class ToolProcess
{
    /// <summary>The tool's exit code and output; exit code -1 (and the reason as error output) when it cannot be started.</summary>
    public static (int Code, string Output, string Errors) Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi);
            if (p is null) return (-1, "", $"{program} could not be started");
            var errors = p.StandardError.ReadToEndAsync();
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, output, errors.Result);
        }
        catch (Win32Exception e)
        {
            return (-1, "", $"{program}: {e.Message}");
        }
    }
}
