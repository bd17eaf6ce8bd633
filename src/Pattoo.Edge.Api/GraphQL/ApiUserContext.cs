using Pattoo.Edge.Storage;

namespace Pattoo.Edge.Api.GraphQL;

/// <summary>Per-request state: who asks, and one consistent snapshot of the catalog.</summary>
public sealed class ApiUserContext : Dictionary<string, object?>
{
    private CatalogSnapshot? _catalog;

    public ApiUserContext(IApplianceState appliance, Access access)
    {
        Appliance = appliance;
        Access = access;
    }

    public IApplianceState Appliance { get; }
    public Access Access { get; }

    public CatalogSnapshot Catalog => _catalog ??= Appliance.Store.Catalog.Snapshot();

    /// <summary>After a mutation the next read must see it.</summary>
    public void Invalidate() => _catalog = null;
}
