// An OPC UA server for Pattoo.Edge's tests, built on node-opcua. 127.0.0.1 only.
//
//   node server.js --port N --pki DIR [--restart-marker] [--bench N] [--many N]
//                  [--max-nodes-per-read N] [--max-nodes-per-browse N] [--max-monitored-items-per-call N]
//                  [--max-browse-continuation-points N]
//
// --many N adds N Int32 variables ns=1;s=Many.0 .. Many.<N-1> (value i, browse name Many<i>) in a
// folder "Many" (ns=1;s=Many) under Objects, to page through with Browse/BrowseNext.
// --max-nodes-per-read, --max-nodes-per-browse and --max-monitored-items-per-call set the
// server's OperationLimits (exposed under Server_ServerCapabilities_OperationLimits; a request
// with more operations gets ServiceFault BadTooManyOperations); --max-browse-continuation-points
// bounds the continuation points per session (BadNoContinuationPoints past it). Left out, node-opcua's
// defaults apply (10000 each; continuation points unbounded).
// --bench N adds N variables ns=1;s=Bench.0 .. Bench.<N-1> in a folder "Bench" (Double,
// Int32, Boolean and UInt32 in turn) whose values change every 20 ms, for the benchmark
// (bench/Pattoo.Edge.Bench/OpcUa); without it the address space is the tests' alone.
// Endpoints: SecurityPolicy None, Basic256Sha256, Aes128_Sha256_RsaOaep and Aes256_Sha256_RsaPss (Sign, SignAndEncrypt); anonymous or
// username "operator" / password "secret". Client certificates are accepted automatically
// (the tests check *our* trust decisions, not the server's). The server certificate lives in
// DIR, so a restart on the same DIR presents the same certificate.
// Prints "READY <port>" on stdout once it listens; exits on SIGTERM/SIGINT or when stdin closes.
"use strict";
const path = require("path");
const {
    OPCUAServer, OPCUACertificateManager, Variant, VariantArrayType, DataType, StatusCodes, MessageSecurityMode, SecurityPolicy,
    makeRoles, WellKnownRoles, PermissionType,
} = require("node-opcua");

function arg(name, fallback) {
    const i = process.argv.indexOf("--" + name);
    return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const port = parseInt(arg("port", "4840"), 10);
const pki = path.resolve(arg("pki", path.join(__dirname, ".pki")));

// The limits given on the command line; undefined (node-opcua's defaults) when none is.
function capabilities() {
    const limit = (name) => (arg(name) === undefined ? undefined : parseInt(arg(name), 10));
    const operationLimits = {
        maxNodesPerRead: limit("max-nodes-per-read"),
        maxNodesPerBrowse: limit("max-nodes-per-browse"),
        maxMonitoredItemsPerCall: limit("max-monitored-items-per-call"),
    };
    for (const key of Object.keys(operationLimits)) if (operationLimits[key] === undefined) delete operationLimits[key];
    const maxBrowseContinuationPoints = limit("max-browse-continuation-points");
    if (Object.keys(operationLimits).length === 0 && maxBrowseContinuationPoints === undefined) return undefined;
    return maxBrowseContinuationPoints === undefined ? { operationLimits } : { operationLimits, maxBrowseContinuationPoints };
}

async function main() {
    const serverCertificateManager = new OPCUACertificateManager({
        rootFolder: path.join(pki, "server"),
        automaticallyAcceptUnknownCertificate: true,
    });
    await serverCertificateManager.initialize();
    const userCertificateManager = new OPCUACertificateManager({
        rootFolder: path.join(pki, "user"),
        automaticallyAcceptUnknownCertificate: true,
    });
    await userCertificateManager.initialize();

    const server = new OPCUAServer({
        port,
        hostname: "127.0.0.1",
        alternateHostname: ["127.0.0.1"],
        serverCertificateManager,
        userCertificateManager,
        securityPolicies: [SecurityPolicy.None, SecurityPolicy.Basic256Sha256, SecurityPolicy.Aes128_Sha256_RsaOaep, SecurityPolicy.Aes256_Sha256_RsaPss],
        securityModes: [MessageSecurityMode.None, MessageSecurityMode.Sign, MessageSecurityMode.SignAndEncrypt],
        allowAnonymous: true,
        // "operator" has the Operator role (it may write the Controls folder); anonymous sessions may only read.
        userManager: {
            isValidUser: (user, password) => user === "operator" && password === "secret",
            getUserRoles: (user) => makeRoles(user === "operator" ? [WellKnownRoles.AuthenticatedUser, WellKnownRoles.Operator] : [WellKnownRoles.Anonymous]),
        },
        serverInfo: { applicationUri: "urn:pattoo-test:opcua-server", productUri: "pattoo-test" },
        buildInfo: { productName: "pattoo-test-opcua" },
        serverCapabilities: capabilities(),
    });
    await server.initialize();

    const addressSpace = server.engine.addressSpace;
    const ns = addressSpace.getOwnNamespace(); // ns=1, uri urn:pattoo-test:... (see namespace line below)
    const folder = ns.addFolder(addressSpace.rootFolder.objects, { browseName: "Line3" });
    const started = Date.now();
    const constant = (name, dataType, value, arrayType) => ns.addVariable({
        componentOf: folder,
        nodeId: "s=Line3." + name,
        browseName: name,
        dataType,
        minimumSamplingInterval: 50,
        value: { get: () => new Variant({ dataType: DataType[dataType], value, arrayType: arrayType || VariantArrayType.Scalar }) },
    });
    constant("Bool", "Boolean", true);
    constant("SByte", "SByte", -8);
    constant("Byte", "Byte", 200);
    constant("Int16", "Int16", -1600);
    constant("UInt16", "UInt16", 65000);
    constant("Int32", "Int32", -320000);
    constant("UInt32", "UInt32", 4000000000);
    constant("Int64", "Int64", [0xFFFFFFFF, 0xFFFFFFC0]); // node-opcua: [high, low] words = -64
    constant("UInt64", "UInt64", [1, 0]);        // 2^32
    constant("Float", "Float", 1.5);
    constant("Double", "Double", 3.25);
    constant("String", "String", "hello \u00e9");
    constant("DateTime", "DateTime", new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)));
    constant("Int32Array", "Int32", new Int32Array([10, 20, 30]), VariantArrayType.Array);
    constant("DoubleArray", "Double", new Float64Array([0.5, -0.25]), VariantArrayType.Array);
    constant("BoolArray", "Boolean", [true, false], VariantArrayType.Array);
    ns.addVariable({
        componentOf: folder,
        nodeId: "i=5001",
        browseName: "Numeric5001",
        dataType: "Double",
        minimumSamplingInterval: 50,
        value: { get: () => new Variant({ dataType: DataType.Double, value: 50.01 }) },
    });
    ns.addVariable({
        componentOf: folder,
        nodeId: "g=09087e75-8e5e-499b-954f-f2a9603db28a",
        browseName: "ByGuid",
        dataType: "UInt16",
        minimumSamplingInterval: 50,
        value: { get: () => new Variant({ dataType: DataType.UInt16, value: 77 }) },
    });
    ns.addVariable({
        componentOf: folder,
        nodeId: "b=AQIDBA==",
        browseName: "ByOpaque",
        dataType: "Int32",
        minimumSamplingInterval: 50,
        value: { get: () => new Variant({ dataType: DataType.Int32, value: 1234 }) },
    });
    // A value that counts up every 100 ms: subscriptions see changes.
    ns.addVariable({
        componentOf: folder,
        nodeId: "s=Line3.Counter",
        browseName: "Counter",
        dataType: "UInt32",
        minimumSamplingInterval: 50,
        value: { get: () => new Variant({ dataType: DataType.UInt32, value: Math.floor((Date.now() - started) / 100) }) },
    });
    // A value the device cannot read: Bad status, no value.
    const bad = ns.addVariable({
        componentOf: folder,
        nodeId: "s=Line3.Broken",
        browseName: "Broken",
        dataType: "Double",
    });
    bad.setValueFromSource(new Variant({ dataType: DataType.Double, value: 0 }), StatusCodes.BadSensorFailure);

    // Write-back: a folder "Controls" whose variables the Operator role may write (anonymous
    // sessions read them only), and Measured, which nobody may write; Setpoint refuses values
    // above 100 with BadOutOfRange. Every
    // accepted write is printed: "WRITE <name> <value>".
    const controls = ns.addFolder(addressSpace.rootFolder.objects, { browseName: "Controls" });
    const operatorWrites = [
        { roleId: WellKnownRoles.Anonymous, permissions: PermissionType.Browse | PermissionType.Read | PermissionType.ReadRolePermissions },
        { roleId: WellKnownRoles.AuthenticatedUser, permissions: PermissionType.Browse | PermissionType.Read | PermissionType.ReadRolePermissions },
        { roleId: WellKnownRoles.Operator, permissions: PermissionType.Browse | PermissionType.Read | PermissionType.Write | PermissionType.ReadRolePermissions },
    ];
    const writable = (name, dataType, initial, check) => {
        let current = initial;
        ns.addVariable({
            componentOf: controls,
            nodeId: "s=Controls." + name,
            browseName: name,
            dataType,
            accessLevel: "CurrentRead | CurrentWrite",
            userAccessLevel: "CurrentRead | CurrentWrite",
            rolePermissions: operatorWrites,
            minimumSamplingInterval: 50,
            value: {
                get: () => new Variant({ dataType: DataType[dataType], value: current }),
                set: (variant) => {
                    if (check && !check(variant.value)) return StatusCodes.BadOutOfRange;
                    current = variant.value;
                    process.stdout.write(`WRITE ${name} ${variant.value}\n`);
                    return StatusCodes.Good;
                },
            },
        });
    };
    ns.addVariable({
        componentOf: controls,
        nodeId: "s=Controls.Measured",
        browseName: "Measured",
        dataType: "Double",
        accessLevel: "CurrentRead",
        userAccessLevel: "CurrentRead",
        minimumSamplingInterval: 50,
        value: { get: () => new Variant({ dataType: DataType.Double, value: 3.25 }) },
    });
    writable("Setpoint", "Double", 21, (v) => v <= 100);
    writable("Mode", "Int32", 1);
    writable("Enabled", "Boolean", false);

    const benchCount = parseInt(arg("bench", "0"), 10);
    if (benchCount > 0) {
        const benchFolder = ns.addFolder(addressSpace.rootFolder.objects, { browseName: "Bench" });
        const types = ["Double", "Int32", "Boolean", "UInt32"];
        for (let i = 0; i < benchCount; i++) {
            const type = types[i % types.length];
            const tick = () => Math.floor(Date.now() / 20);
            const value = type === "Double" ? () => tick() / 4 + i
                : type === "Int32" ? () => (tick() + i) % 1000000
                : type === "Boolean" ? () => ((tick() + i) & 1) === 1
                : () => (tick() + i) >>> 0;
            ns.addVariable({
                componentOf: benchFolder,
                nodeId: "s=Bench." + i,
                browseName: "Bench" + i,
                dataType: type,
                minimumSamplingInterval: 20,
                value: { get: () => new Variant({ dataType: DataType[type], value: value() }) },
            });
        }
    }

    const manyCount = parseInt(arg("many", "0"), 10);
    if (manyCount > 0) {
        const manyFolder = ns.addFolder(addressSpace.rootFolder.objects, { browseName: "Many", nodeId: "s=Many" });
        for (let i = 0; i < manyCount; i++) {
            ns.addVariable({
                componentOf: manyFolder,
                nodeId: "s=Many." + i,
                browseName: "Many" + i,
                dataType: "Int32",
                minimumSamplingInterval: 50,
                value: { get: () => new Variant({ dataType: DataType.Int32, value: i }) },
            });
        }
    }

    await server.start();
    const endpoint = server.getEndpointUrl();
    process.stdout.write(`namespace ${ns.namespaceUri}\n`);
    process.stdout.write(`endpoint ${endpoint}\n`);
    process.stdout.write(`READY ${port}\n`);

    const stop = async () => {
        try { await server.shutdown(0); } catch (e) { /* gone */ }
        process.exit(0);
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    process.stdin.on("end", stop);
    process.stdin.resume();
}

main().catch((e) => {
    process.stderr.write(`opcua peer failed: ${e && e.stack || e}\n`);
    process.exit(1);
});
