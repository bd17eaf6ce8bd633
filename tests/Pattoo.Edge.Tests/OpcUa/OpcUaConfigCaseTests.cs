using Pattoo.Edge.Pollers;
using Pattoo.Edge.Tests.Support;

namespace Pattoo.Edge.Tests.OpcUa;

/// <summary>
/// The cases under src/Pattoo.Edge.Pollers/OpcUa/testcases (see <see cref="PollerCaseRunner"/>):
/// expected.out holds every sample of one poll against tests/peers/opcua/server.js, sorted, timestamps
/// left out, then "skipped: ..." lines. "@ENDPOINT@" in config.toml is the test server's address.
/// </summary>
public sealed class OpcUaConfigCaseTests(OpcUaServerFixture fixture) : IClassFixture<OpcUaServerFixture>
{
    public static TheoryData<string> Cases => PollerCaseRunner.Cases("OpcUa");

    [Theory]
    [MemberData(nameof(Cases))]
    public Task Case(string name) => PollerCaseRunner.RunAsync(
        "OpcUa", name, toml => OpcUaTestSupport.Bind(toml),
        options => PollerCaseRunner.PollEachAsync(options.CreateTargets(new PollerContext(PollerTestSupport.Appliance, fixture.EmptyState())), OpcUaTestSupport.PollLimit,
            _ => false), // a poll that throws fails the case
        ("@ENDPOINT@", fixture.Peer.Endpoint));
}
