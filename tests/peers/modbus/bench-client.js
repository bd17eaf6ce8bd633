#!/usr/bin/env node
// The rival of ModbusBench: modbus-serial's own client reading the same values from the same server.
//   node bench-client.js PORT CYCLES MODE VALUES
// MODE "single": one request per value; "batched": one request per run of neighbouring values.
// VALUES: comma-separated address:registers pairs (holding registers). Prints one JSON line.
'use strict';
const ModbusRTU = require('modbus-serial');
const [port, cyclesText, mode, valuesText] = process.argv.slice(2);
const cycles = Number(cyclesText);
const values = valuesText.split(',').map((p) => { const [a, c] = p.split(':').map(Number); return { a, c }; });
let requests = values;
if (mode === 'batched') {
  const sorted = [...values].sort((x, y) => x.a - y.a);
  requests = [];
  for (const v of sorted) {
    const last = requests[requests.length - 1];
    if (last && v.a <= last.a + last.c && Math.max(last.a + last.c, v.a + v.c) - last.a <= 125) last.c = Math.max(last.c, v.a + v.c - last.a);
    else requests.push({ a: v.a, c: v.c });
  }
}
(async () => {
  const client = new ModbusRTU();
  await client.connectTCP('127.0.0.1', { port: Number(port) });
  client.setID(1);
  client.setTimeout(2000);
  for (const r of requests) await client.readHoldingRegisters(r.a, r.c); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < cycles; i++) {
    for (const r of requests) {
      const res = await client.readHoldingRegisters(r.a, r.c);
      // decode like a poller would: one number per value
      for (const v of values) if (v.a >= r.a && v.a + v.c <= r.a + r.c) res.buffer.readUInt16BE(2 * (v.a - r.a));
    }
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(JSON.stringify({ mode, requests_per_cycle: requests.length, seconds, cycles, values_per_second: values.length * cycles / seconds }));
  client.close(() => process.exit(0));
})().catch((e) => { console.error(e.message); process.exit(1); });
