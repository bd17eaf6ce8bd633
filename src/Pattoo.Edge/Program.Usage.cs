namespace Pattoo.Edge;

public static partial class Program
{
    /// <summary>What <c>pattoo-edge --help</c> prints.</summary>
    private const string Usage = """
        pattoo-edge: a monitoring appliance in one binary: polls devices, stores time series
        in SQLite, serves them over GraphQL and the pattoo agent API.

        Usage:
          pattoo-edge [run] [--config FILE]   run the appliance (default: the embedded config)
          pattoo-edge config check [--verbose] FILE
                                              check a config file; exit 1 listing every error;
                                              --verbose shows what each poll cycle will cost
          pattoo-edge config default          print the embedded default config, commented
          pattoo-edge config sample snmp|modbus|bacnet|opcua|linux
                                              print a poller's commented sample section
          pattoo-edge import key_translation --filename F.csv [--idx_pair_xlate_group N] [--config FILE]
          pattoo-edge import agent_translation --filename F.csv [--config FILE]
          pattoo-edge create language --code es --name Spanish [--config FILE]
          pattoo-edge create key_translation --name NAME [--config FILE]
                                              pattoo's translation commands and CSV formats; they
                                              change the database under storage.path (also while
                                              the appliance runs)
          pattoo-edge install                 (as root) copy this binary to /usr/local/bin, write the
                                              systemd unit and a default config if none, enable and
                                              start the service
          pattoo-edge uninstall [--purge]     (as root) stop and remove it; --purge also deletes the
                                              config and the data
          pattoo-edge doctor [--config FILE] [--json]
                                              check the box, the config, the ports, storage, clock,
                                              serial devices, targets and certificates; print fixes
          pattoo-edge discover modbus ADDRESS|SERIAL_PORT [--unit N | --scan-units A-B] [--range A-B]
                                  [--pick LIST | --emit-plausible] ...
                                              find the units, register blocks and byte orders of a
                                              Modbus device; print its [[modbus.devices]] config
                                              (pattoo-edge discover modbus --help for every option)
          pattoo-edge discover snmp ADDRESS [--community C | --user U --auth-password P ...]
                                              read an SNMP agent's system group, interfaces, storage
                                              and sensors; print its [[snmp.targets]] config
          pattoo-edge discover bacnet [--broadcast ADDRESS] [--device N] [--all] ...
                                              Who-Is, then each device's objects, names and units;
                                              print [[bacnet.devices]] tables
          pattoo-edge discover opcua ENDPOINT [--security POLICY[/MODE]] [--username U --password P]
                                              the endpoints offered and the variables under Objects;
                                              print an [[opcua.servers]] table
          pattoo-edge backup FILE [--config FILE]
                                              a consistent backup, also while the appliance runs
          pattoo-edge restore FILE [--config FILE]
                                              put a backup in place (the appliance must be stopped)
          pattoo-edge version                 print the version, commit and build day
          pattoo-edge --help                  this text

        Signals: SIGHUP reloads the config file, SIGTERM or SIGINT stops.
        """;
}
