using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Api.GraphQL;

/// <summary>Per-request state: who asks, and one consistent snapshot of the catalog.</summary>
public sealed class ApiUserContext : Dictionary<string, object?>
{
    private CatalogSnapshot? _catalog;

    public ApiUserContext(IApplianceState appliance, Access access, Control.ControlCaller? caller = null)
    {
        Appliance = appliance;
        Access = access;
        Caller = caller ?? new Control.ControlCaller(null, false, "unknown");
    }

    public IApplianceState Appliance { get; }
    public Access Access { get; }

    /// <summary>Who the request is for write-back (control token name, client address).</summary>
    public Control.ControlCaller Caller { get; }

    public CatalogSnapshot Catalog => _catalog ??= Appliance.Store.Catalog.Snapshot();

    private Dictionary<long, (long Timestamp, double? Value, string? Text)?>? _latest;

    /// <summary>A series' latest value, read once per request however many fields ask for it.</summary>
    public (long Timestamp, double? Value, string? Text)? Latest(long idxDatapoint)
    {
        _latest ??= new();
        if (!_latest.TryGetValue(idxDatapoint, out var latest)) _latest[idxDatapoint] = latest = Appliance.Store.Latest(idxDatapoint);
        return latest;
    }

    /// <summary>After a mutation the next read must see it.</summary>
    public void Invalidate() => _catalog = null;
}
