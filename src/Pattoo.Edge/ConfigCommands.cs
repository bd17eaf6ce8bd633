using Pattoo.Edge.Config;
using Pattoo.Edge.Host;

namespace Pattoo.Edge;

/// <summary><c>pattoo-edge config check|default|sample</c>: what a technician runs before (re)starting the appliance.</summary>
internal static class ConfigCommands
{
    public static int ConfigUsage()
    {
        Console.Error.WriteLine("""
            usage: pattoo-edge config check [--verbose] FILE   check a config file (exit 1 listing every error)
                   pattoo-edge config default                  print the embedded default config
                   pattoo-edge config sample NAME              print a poller's sample section
            """);
        return Program.ExitUsage;
    }

    public static int PrintSample(string? name)
    {
        if (name is not null && EdgeOptions.SampleText(name) is { } text)
        {
            Console.Out.Write(text);
            return Program.ExitOk;
        }
        Console.Error.WriteLine($"pattoo-edge config sample: {(name is null ? "name a poller" : $"no sample named \"{name}\"")}; one of: {string.Join(", ", EdgeOptions.SampleNames)}");
        return Program.ExitUsage;
    }

    public static int PrintDefault()
    {
        Console.Out.Write(EdgeOptions.DefaultText());
        return Program.ExitOk;
    }

    public static int CheckConfig(string file, bool verbose)
    {
        try
        {
            var o = EdgeOptions.LoadFile(file);
            int forwarders = o.Forward.All.Count();
            Console.Out.WriteLine($"{file}: OK ({o.TargetCount} poll targets, {forwarders} forwarder{(forwarders == 1 ? "" : "s")}, storage in {o.Storage.Path}, listening on {o.Server.Listen})");
            foreach (var warning in ConfigAdvice.Warnings(o)) Console.Error.WriteLine($"{file}: warning: {warning}");
            if (verbose)
            {
                foreach (var poller in o.Pollers)
                {
                    var plan = poller.DescribePlan();
                    if (plan.Length > 0) Console.Out.Write(plan.EndsWith('\n') ? plan : plan + "\n");
                }
                foreach (var f in o.Forward.All) Console.Out.WriteLine(f.Describe());
            }
            return Program.ExitOk;
        }
        catch (ConfigException e)
        {
            foreach (var error in e.Errors) Console.Error.WriteLine(error);
            Console.Error.WriteLine($"{file}: {e.Errors.Count} error{(e.Errors.Count == 1 ? "" : "s")}");
            return Program.ExitError;
        }
    }
}
