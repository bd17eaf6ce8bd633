using Pattoo.Edge.Common;
using Pattoo.Edge.Pollers;
using Pattoo.Edge.Pollers.OpcUa;
using Pattoo.Edge.Tests.Support;

namespace Pattoo.Edge.Tests.OpcUa;

internal static class OpcUaTestSupport
{
    /// <summary>A poll's time limit: longer than other pollers' as node-opcua answers slowly on a busy machine.</summary>
    public static readonly TimeSpan PollLimit = TimeSpan.FromSeconds(30);

    /// <summary>Binds an [opcua] table; throws ConfigException listing every error.</summary>
    public static OpcUaOptions Bind(string toml, string file = "config.toml") => PollerTestSupport.Bind(toml, "opcua", OpcUaOptions.Bind, file);

    public static OpcUaPoller Poller(string toml, string state)
        => Bind(toml).CreateTargets(new PollerContext(PollerTestSupport.Appliance, state)).Cast<OpcUaPoller>().Single();

    public static Task<(SampleBatch Batch, PollReport Report)> PollAsync(IPollTarget target, TimeSpan? limit = null)
        => PollerTestSupport.PollAsync(target, limit ?? PollLimit);

    /// <summary>The samples by series key, "key[index]" for array elements (their keys repeat).</summary>
    public static Dictionary<string, Sample> ByKeyAndIndex(SampleBatch batch)
    {
        var d = new Dictionary<string, Sample>(StringComparer.Ordinal);
        foreach (var s in batch.Items)
        {
            string index = s.Series.Metadata.FirstOrDefault(m => m.Key == "index").Value ?? "";
            d.Add(index.Length > 0 ? $"{s.Series.Key}[{index}]" : s.Series.Key, s);
        }
        return d;
    }

    /// <summary>Polls until <paramref name="done"/> holds for the samples gathered so far, or the time runs out.</summary>
    public static async Task<List<Sample>> PollUntilAsync(IPollTarget target, Func<List<Sample>, bool> done, TimeSpan limit)
    {
        var all = new List<Sample>();
        var until = DateTime.UtcNow + limit;
        while (DateTime.UtcNow < until)
        {
            try
            {
                var (batch, _) = await PollAsync(target);
                all.AddRange(batch.Items.ToArray());
                if (done(all)) return all;
            }
            catch (Exception e) when (e is OpcUaConnectionException or OpcUaServiceException or TimeoutException or OpcUaCertificateException)
            {
                // not connected yet
            }
            await Task.Delay(200);
        }
        return all;
    }
}
