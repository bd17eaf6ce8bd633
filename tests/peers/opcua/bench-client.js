// node-opcua's own client, the rival in bench/Pattoo.Edge.Bench/OpcUa/OpcUaBench.cs. 127.0.0.1 only.
//
//   node bench-client.js ENDPOINT poll|subscribe None|Basic256Sha256 NODES CYCLES|SECONDS PKI_DIR [PUBLISH_MS SAMPLING_MS]
//
// Reads ns=1;s=Bench.0 .. Bench.<NODES-1> (server.js --bench NODES):
//   poll:      CYCLES Read requests of every node's Value (MaxAge 0), one after the other,
//              after 300 unmeasured ones (connect, JIT);
//   subscribe: one subscription (publishing PUBLISH_MS, sampling SAMPLING_MS, queue 1), data
//              changes counted for SECONDS after the first notification.
// Basic256Sha256 means SignAndEncrypt with user "operator"/"secret"; None is anonymous.
// Prints one JSON line: values, seconds, values_per_second, cpu_us (this process, user +
// system, measured part only) and cpu_us_per_value.
"use strict";
const path = require("path");
const {
    OPCUAClient, OPCUACertificateManager, MessageSecurityMode, SecurityPolicy, AttributeIds, TimestampsToReturn,
    ClientSubscription, ClientMonitoredItemGroup, UserTokenType,
} = require("node-opcua");

const [endpoint, mode, policy, nodesArg, amountArg, pki, publishArg, samplingArg] = process.argv.slice(2);
const count = parseInt(nodesArg, 10);
const amount = parseFloat(amountArg);
const publishMs = parseInt(publishArg || "100", 10);
const samplingMs = parseInt(samplingArg || "20", 10);

function cpuUs(since) {
    const u = process.cpuUsage(since);
    return u.user + u.system;
}

async function main() {
    const secure = policy === "Basic256Sha256";
    const clientCertificateManager = new OPCUACertificateManager({
        rootFolder: path.join(pki, "node-client"),
        automaticallyAcceptUnknownCertificate: true,
    });
    await clientCertificateManager.initialize();
    const client = OPCUAClient.create({
        applicationName: "pattoo-bench-node-opcua",
        applicationUri: "urn:pattoo-bench:node-opcua-client",
        clientCertificateManager,
        securityMode: secure ? MessageSecurityMode.SignAndEncrypt : MessageSecurityMode.None,
        securityPolicy: secure ? SecurityPolicy.Basic256Sha256 : SecurityPolicy.None,
        endpointMustExist: false,
        connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
        requestedSessionTimeout: 120000,
    });
    await client.connect(endpoint);
    const session = await client.createSession(secure
        ? { type: UserTokenType.UserName, userName: "operator", password: "secret" }
        : undefined);
    const nodes = [];
    for (let i = 0; i < count; i++) nodes.push({ nodeId: `ns=1;s=Bench.${i}`, attributeId: AttributeIds.Value });

    let values = 0, seconds = 0, cpu = 0;
    if (mode === "poll") {
        for (let i = 0; i < 300; i++) await session.read(nodes, 0);
        const cpu0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        for (let c = 0; c < amount; c++) {
            const results = await session.read(nodes, 0);
            for (const r of results) if (r.statusCode.isGood()) values++;
        }
        seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        cpu = cpuUs(cpu0);
    } else {
        const subscription = ClientSubscription.create(session, {
            requestedPublishingInterval: publishMs,
            requestedLifetimeCount: 100,
            requestedMaxKeepAliveCount: 10,
            maxNotificationsPerPublish: 0,
            publishingEnabled: true,
            priority: 0,
        });
        await new Promise((resolve, reject) => {
            subscription.once("started", resolve);
            subscription.once("internal_error", reject);
        });
        let counting = false, first;
        const group = ClientMonitoredItemGroup.create(subscription, nodes,
            { samplingInterval: samplingMs, queueSize: 1, discardOldest: true }, TimestampsToReturn.Both);
        first = new Promise((resolve) => group.on("changed", () => { if (counting) values++; else resolve(); }));
        await first;
        await new Promise((r) => setTimeout(r, 4000)); // initial values, a steady rate, the JIT settled
        const cpu0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        counting = true;
        await new Promise((r) => setTimeout(r, amount * 1000));
        counting = false;
        seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        cpu = cpuUs(cpu0);
        await subscription.terminate();
    }
    await session.close();
    await client.disconnect();
    process.stdout.write(JSON.stringify({
        values, seconds, values_per_second: values / seconds, cpu_us: cpu, cpu_us_per_value: values > 0 ? cpu / values : 0,
    }) + "\n");
    process.exit(0);
}

main().catch((e) => {
    process.stderr.write(`bench-client failed: ${e && e.stack || e}\n`);
    process.exit(1);
});
