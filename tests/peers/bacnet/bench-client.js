#!/usr/bin/env node
// The rival of BacnetBench: @bacnet-js/client reading the same properties from the same device.js device.
//   node bench-client.js DEVICE_PORT LOCAL_PORT SECONDS MODE REQUESTS OBJECTS
// MODE "rpm": ReadPropertyMultiple, the objects split evenly over REQUESTS requests (the number our poller
//   plans); "rp": one readProperty per property, one after another.
// OBJECTS: comma-separated type:instance pairs (numeric type); each object's present-value and status-flags
// are read. Runs cycles for SECONDS after one warm-up cycle; prints one JSON line.
'use strict';
const bacnet = require('@bacnet-js/client');

const [devicePort, localPort, secondsText, mode, requestsText, objectsText] = process.argv.slice(2);
const BACnetClient = bacnet.default;
const P = bacnet.PropertyIdentifier;
const objects = objectsText.split(',').map((o) => { const [type, instance] = o.split(':').map(Number); return { type, instance }; });
const properties = [{ id: P.PRESENT_VALUE, index: bacnet.ASN1_ARRAY_ALL }, { id: P.STATUS_FLAGS, index: bacnet.ASN1_ARRAY_ALL }];
const requests = [];
const count = Math.max(1, Number(requestsText));
for (let r = 0; r < count; r++) {
  const from = Math.floor((r * objects.length) / count);
  const to = Math.floor(((r + 1) * objects.length) / count);
  requests.push(objects.slice(from, to).map((objectId) => ({ objectId, properties })));
}
const receiver = { address: `127.0.0.1:${devicePort}` };

async function cycleRpm(client) {
  let n = 0;
  for (const request of requests) {
    const ack = await client.readPropertyMultiple(receiver, request);
    for (const o of ack.values) {
      for (const v of o.values) {
        if (!v.value || v.value.length === 0 || (v.value[0].value && v.value[0].value.errorClass !== undefined)) throw new Error(`no value for ${o.objectId.type}:${o.objectId.instance}`);
        n++;
      }
    }
  }
  return n;
}

async function cycleRp(client) {
  let n = 0;
  for (const objectId of objects) {
    for (const p of properties) {
      const ack = await client.readProperty(receiver, objectId, p.id);
      if (!ack.values || ack.values.length === 0) throw new Error(`no value for ${objectId.type}:${objectId.instance}`);
      n++;
    }
  }
  return n;
}

(async () => {
  const client = new BACnetClient({ port: Number(localPort), interface: '127.0.0.1', broadcastAddress: '127.255.255.255', apduTimeout: 3000 });
  client.on('error', (e) => { process.stderr.write(`bench-client: ${e.message}\n`); });
  await new Promise((resolve) => client.on('listening', resolve));
  const cycle = mode === 'rp' ? cycleRp : cycleRpm;
  const expected = objects.length * properties.length;
  const warm = await cycle(client);
  if (warm !== expected) throw new Error(`read ${warm} of ${expected} properties`);
  const limit = BigInt(Math.round(Number(secondsText) * 1e9));
  const start = process.hrtime.bigint();
  let cycles = 0;
  let read = 0;
  while (process.hrtime.bigint() - start < limit) {
    read += await cycle(client);
    cycles++;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const requestsPerCycle = mode === 'rp' ? expected : requests.length;
  console.log(JSON.stringify({ mode, requests_per_cycle: requestsPerCycle, cycles, seconds, properties_per_second: read / seconds }));
  client.close();
  process.exit(0);
})().catch((e) => { console.error(e.stack || e.message); process.exit(1); });
