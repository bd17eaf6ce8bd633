using Pattoo.Edge.Pollers.Modbus;
using Pattoo.Edge.Tests.Support;

namespace Pattoo.Edge.Tests.Modbus;

/// <summary>
/// The cases under src/Pattoo.Edge.Pollers/Modbus/testcases (see <see cref="PollerCaseRunner"/>):
/// expected.out holds the request plan, a blank line, then every sample of one poll against the
/// in-process <see cref="FakeModbusLink"/>, sorted, then "skipped: ..." lines.
/// </summary>
public sealed class ModbusConfigCaseTests
{
    public static TheoryData<string> Cases => PollerCaseRunner.Cases("Modbus");

    [Theory]
    [MemberData(nameof(Cases))]
    public Task Case(string name) => PollerCaseRunner.RunAsync(
        "Modbus", name, toml => ModbusTestSupport.Bind(toml),
        async options =>
        {
            var registry = new ModbusLinkRegistry(_ => new FakeModbusLink());
            var lines = new List<string>(options.DescribePlan().TrimEnd('\n').Split('\n')) { "" };
            // no time limit: the fake link answers at once, and the pollers' own timeouts are under test
            lines.AddRange(await PollerCaseRunner.PollEachAsync(ModbusTestSupport.Pollers(options, registry), Timeout.InfiniteTimeSpan,
                e => e is ModbusDeviceException or ModbusTransportException));
            Assert.Equal(0, registry.Count); // every poller gave its link back
            return lines;
        });
}
