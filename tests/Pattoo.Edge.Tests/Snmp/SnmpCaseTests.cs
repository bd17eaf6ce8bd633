using Pattoo.Edge.Pollers;
using Pattoo.Edge.Tests.Support;

namespace Pattoo.Edge.Tests.Snmp;

/// <summary>
/// The cases under src/Pattoo.Edge.Pollers/Snmp/testcases (see <see cref="PollerCaseRunner"/>), polled
/// against the test's snmpd (${ADDRESS}): expected.out holds <see cref="OutputMatch.Patterns"/> of every
/// sample as "target/key{metadata} type", values left out as they change with the machine.
/// </summary>
[Collection(SnmpdCollection.Name)]
public sealed class SnmpCaseTests(SnmpdFixture agent)
{
    public static TheoryData<string> Cases => PollerCaseRunner.Cases("Snmp");

    [Theory]
    [MemberData(nameof(Cases))]
    public Task Case(string name) => PollerCaseRunner.RunAsync(
        "Snmp", name, toml => SnmpTestSupport.Bind(toml),
        // any exception fails the case: snmpd answers every one of them
        options => PollerCaseRunner.PollEachAsync(options.CreateTargets(new PollerContext(SnmpTestSupport.Appliance, "/nonexistent")),
            TimeSpan.FromSeconds(30), _ => false, s => SnmpTestSupport.Describe(s, false)),
        OutputMatch.Patterns, ("${ADDRESS}", agent.Address));
}
