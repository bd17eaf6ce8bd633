namespace Pattoo.Edge.Tests.Support;

/// <summary>
/// Tests that assert on timing against real peers (a server restart, token renewal) run alone,
/// after the parallel ones: on a 2-core machine a busy neighbour can starve them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimingSensitive
{
    public const string Name = "timing-sensitive";
}
