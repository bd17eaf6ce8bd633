using Pattoo.Edge.Bench.Appliance;
using Pattoo.Edge.Bench.Storage;

// Benchmarks print figures beside a peer measured in the same run, as ratios: machines
// here are small and noisy, so only same-run comparisons mean anything.
var which = args.Length > 0 ? args[0] : "all";
var output = Console.Out;
switch (which)
{
    case "storage": await StorageIngestBench.RunAsync(output); break;
    case "flash": await FlashBench.RunAsync(output); break;
    case "scale": await ScaleBench.RunAsync(output); break;
    case "chunks": Pattoo.Edge.Bench.ChunkCodec.ChunkCodecBench.Run(output); break;
    case "appliance": await ApplianceBench.RunAsync(output); break;
    case "api": await Pattoo.Edge.Bench.Api.IngestQueryBench.RunAsync(output); break;
    case "ingest-parse": await Pattoo.Edge.Bench.Api.IngestParseBench.RunAsync(output); break;
    case "snmp": await Pattoo.Edge.Bench.Snmp.SnmpBench.RunAsync(output); break;
    case "snmp-store": await Pattoo.Edge.Bench.Snmp.SnmpStoreBench.RunAsync(output); break;
    case "bacnet": await Pattoo.Edge.Bench.Bacnet.BacnetBench.RunAsync(output); break;
    case "opcua": await Pattoo.Edge.Bench.OpcUa.OpcUaBench.RunAsync(output); break;
    case "modbus": await Pattoo.Edge.Bench.Modbus.ModbusBench.RunAsync(output); break;
    case "forward": await Pattoo.Edge.Bench.Forward.ForwardBench.RunAsync(output); break;
    case "all":
        Pattoo.Edge.Bench.ChunkCodec.ChunkCodecBench.Run(output);
        await StorageIngestBench.RunAsync(output);
        await FlashBench.RunAsync(output);
        await ScaleBench.RunAsync(output);
        await ApplianceBench.RunAsync(output);
        await Pattoo.Edge.Bench.Api.IngestQueryBench.RunAsync(output);
        await Pattoo.Edge.Bench.Modbus.ModbusBench.RunAsync(output);
        await Pattoo.Edge.Bench.Snmp.SnmpBench.RunAsync(output);
        await Pattoo.Edge.Bench.Snmp.SnmpStoreBench.RunAsync(output);
        await Pattoo.Edge.Bench.Bacnet.BacnetBench.RunAsync(output);
        await Pattoo.Edge.Bench.OpcUa.OpcUaBench.RunAsync(output);
        await Pattoo.Edge.Bench.Forward.ForwardBench.RunAsync(output);
        break;
    default:
        Console.Error.WriteLine("usage: Pattoo.Edge.Bench [all|storage|flash|scale|chunks|appliance|api|ingest-parse|snmp|snmp-store|modbus|bacnet|opcua|forward]");
        return 2;
}
return 0;
