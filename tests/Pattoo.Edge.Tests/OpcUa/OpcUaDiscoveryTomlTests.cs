using Pattoo.Edge.Pollers.OpcUa;
using Pattoo.Edge.Pollers.OpcUa.Discovery;
using Pattoo.Edge.Protocols.OpcUa;

namespace Pattoo.Edge.Tests.OpcUa;

/// <summary>What `discover opcua` writes; every output must bind as the config loader reads it.</summary>
public sealed class OpcUaDiscoveryTomlTests
{
    private static readonly OpcUaServerOptions Server = new()
    {
        Name = "plc \"7\"", Endpoint = "opc.tcp://192.0.2.40:4840", Host = "192.0.2.40", Port = 4840,
        SecurityPolicy = SecurityPolicy.Aes128_Sha256_RsaOaep, SecurityMode = MessageSecurityMode.Sign, Username = "op", Password = "p\"w", Nodes = [],
    };

    [Fact]
    public void VariablesGetUniqueKeysAndTheCertificateIsPinned()
    {
        var survey = new OpcUaSurvey([new("Aes256_Sha256_RsaPss", "SignAndEncrypt", 200, ["username"]), new("None", "None", 0, ["anonymous"])],
            [new("nsu=urn:x;s=A.Temp", "Objects/A/Temp", "Temp", "Double"), new("nsu=urn:x;s=B.Temp", "Objects/B/Temp", "Temp", "Float"), new("i=2258", "Objects/Now", "", "String")],
            12, 2, Truncated: true, new string('a', 64));
        string toml = OpcUaDiscoveryToml.Write("pattoo-edge discover opcua", Server, survey, DateTimeOffset.UnixEpoch);

        Assert.Contains("# Recommended: security_policy = \"Aes256_Sha256_RsaPss\"", toml, StringComparison.Ordinal);
        Assert.Contains("# The browse stopped at --max-nodes or --max-depth", toml, StringComparison.Ordinal);
        Assert.Contains("# 2 variables of other data types", toml, StringComparison.Ordinal);
        var bound = Assert.Single(OpcUaTestSupport.Bind(toml).Servers);
        Assert.Equal(["temp", "temp_2", "node"], bound.Nodes.Select(n => n.Key));
        Assert.Equal((OpcUaTrust.Pinned, SecurityPolicy.Aes128_Sha256_RsaOaep, MessageSecurityMode.Sign, "p\"w"), (bound.Trust, bound.SecurityPolicy, bound.SecurityMode, bound.Password));
    }

    [Fact]
    public void NothingToPollWritesNoServerTable()
    {
        string toml = OpcUaDiscoveryToml.Write("pattoo-edge discover opcua", Server, new OpcUaSurvey([], [], 3, 0, false, null), DateTimeOffset.UnixEpoch);
        Assert.Contains("# Nothing to poll", toml, StringComparison.Ordinal);
        Assert.Empty(OpcUaTestSupport.Bind(toml).Servers);
    }
}
