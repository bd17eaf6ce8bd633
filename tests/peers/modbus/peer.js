#!/usr/bin/env node
// Modbus peers for Pattoo.Edge's tests. Each mode prints "READY" on stdout once it listens.
//   node peer.js tcp PORT                    modbus-serial ServerTCP on 127.0.0.1:PORT, every unit id answers;
//                                            holding registers and coils take writes (FC5/6/15/16), but
//                                            600-609 answer writes with exception 3 (read-only)
//   node peer.js rtu PTY UNITS               modbus-serial ServerSerial on a pty; answers the comma-separated
//                                            unit ids, stays silent for every other (a dead unit)
//   node peer.js rtu-over-tcp PORT           jsmodbus ModbusRTUServer per TCP connection (RTU frames over TCP)
//   node peer.js faulty-rtu PTY              our own RTU peer with a fault per unit id (see FAULTS below)
//   node peer.js faulty-tcp PORT             our own Modbus TCP peer with a fault per unit id
//   node peer.js meter-tcp PORT              modbus-serial ServerTCP serving meter.json: a power meter with a
//                                            few register blocks (exception 2 elsewhere), no discrete inputs
// The register content is built from layout.json with Node's Buffer writers.
'use strict';
const path = require('path');
const fs = require('fs');
const net = require('net');

const layout = JSON.parse(fs.readFileSync(path.join(__dirname, 'layout.json'), 'utf8'));
const REGISTERS = 10000;

function encode(type, text, order) {
  // Big-endian bytes from Node's writers; DCBA from the little-endian writers directly.
  const le = order === 'DCBA';
  const sizes = { int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8, uint64: 8, float32: 4, float64: 8 };
  const b = Buffer.alloc(sizes[type]);
  switch (type) {
    case 'int16': le ? b.writeInt16LE(Number(text)) : b.writeInt16BE(Number(text)); break;
    case 'uint16': le ? b.writeUInt16LE(Number(text)) : b.writeUInt16BE(Number(text)); break;
    case 'int32': le ? b.writeInt32LE(Number(text)) : b.writeInt32BE(Number(text)); break;
    case 'uint32': le ? b.writeUInt32LE(Number(text)) : b.writeUInt32BE(Number(text)); break;
    case 'int64': le ? b.writeBigInt64LE(BigInt(text)) : b.writeBigInt64BE(BigInt(text)); break;
    case 'uint64': le ? b.writeBigUInt64LE(BigInt(text)) : b.writeBigUInt64BE(BigInt(text)); break;
    case 'float32': le ? b.writeFloatLE(Number(text)) : b.writeFloatBE(Number(text)); break;
    case 'float64': le ? b.writeDoubleLE(Number(text)) : b.writeDoubleBE(Number(text)); break;
    default: throw new Error('type ' + type);
  }
  if (order === 'BADC') b.swap16();
  if (order === 'CDAB') {
    const words = [];
    for (let i = 0; i < b.length; i += 2) words.push(b.subarray(i, i + 2));
    return Buffer.concat(words.reverse());
  }
  return b;
}

function buildImage() {
  const holding = new Uint16Array(REGISTERS);
  const input = new Uint16Array(REGISTERS);
  for (let a = 0; a < REGISTERS; a++) { holding[a] = a; input[a] = (a + 1000) & 0xffff; }
  layout.numbers.forEach((n, k) => layout.orders.forEach((order, j) => {
    const at = layout.numbers_base + 40 * k + 10 * j;
    const bytes = encode(n.type, n.value, order);
    for (let i = 0; i < bytes.length / 2; i++) { holding[at + i] = bytes.readUInt16BE(2 * i); input[at + i] = bytes.readUInt16BE(2 * i); }
  }));
  for (const s of layout.strings) {
    const b = Buffer.alloc(s.length * 2);
    b.write(s.value, 'ascii');
    if (s.order === 'BADC') b.swap16();
    for (let i = 0; i < s.length; i++) holding[s.address + i] = b.readUInt16BE(2 * i);
  }
  holding[layout.status_word.address] = layout.status_word.value;
  return { holding, input };
}

const image = buildImage();
const illegal = () => { const e = new Error('illegal data address'); e.modbusErrorCode = 2; return e; };
const holdingAt = (a) => { if (a >= REGISTERS || (a >= 500 && a <= 509)) throw illegal(); return image.holding[a]; };
const inputAt = (a) => { if (a >= REGISTERS) throw illegal(); return image.input[a]; };
// Coils read a % 3 === 0 until written; written coils and registers keep what was written.
const writtenCoils = new Map();
const coilAt = (a) => { if (a >= REGISTERS) throw illegal(); return writtenCoils.has(a) ? writtenCoils.get(a) : a % 3 === 0; };
// Holding registers 600-609 are read-only, as a device's status block is: a write answers exception 3.
const readOnly = () => { const e = new Error('illegal data value'); e.modbusErrorCode = 3; return e; };
const setHolding = (a, v) => { if (a >= REGISTERS || (a >= 500 && a <= 509)) throw illegal(); if (a >= 600 && a <= 609) throw readOnly(); image.holding[a] = v & 0xffff; };
const setCoil = (a, v) => { if (a >= REGISTERS) throw illegal(); writtenCoils.set(a, !!v); };
const discreteAt = (a) => { if (a >= REGISTERS) throw illegal(); return a % 2 === 1; };

function vector(answers) {
  // A unit that does not answer: a promise that never settles keeps the server silent.
  const gate = (unit, f) => answers(unit) ? f() : new Promise(() => {});
  return {
    getHoldingRegister: (a, unit) => gate(unit, () => holdingAt(a)),
    getInputRegister: (a, unit) => gate(unit, () => inputAt(a)),
    getCoil: (a, unit) => gate(unit, () => coilAt(a)),
    getDiscreteInput: (a, unit) => gate(unit, () => discreteAt(a)),
    // Writes (FC5/6/15/16): tests drive values through the protocol, as a device's own logic would change them.
    setRegister: (a, v, unit) => gate(unit, () => setHolding(a, v)),
    setCoil: (a, v, unit) => gate(unit, () => setCoil(a, v)),
  };
}

// The meter of `discover modbus`' tests: only the registers meter.json lists answer; it has coils
// but no discrete inputs (illegal function), as many meters do.
function meterVector() {
  const meter = JSON.parse(fs.readFileSync(path.join(__dirname, 'meter.json'), 'utf8'));
  const tables = { holding: new Map(), input: new Map() };
  for (const v of meter.values) {
    const bytes = v.type === 'string' ? Buffer.from(v.value.padEnd(2 * v.length, '\0'), 'ascii') : encode(v.type, v.value, v.order);
    for (let i = 0; i < bytes.length / 2; i++) tables[v.table].set(v.address + i, bytes.readUInt16BE(2 * i));
  }
  const coils = new Set(meter.coils_on);
  const at = (table) => (a) => { if (!tables[table].has(a)) throw illegal(); return tables[table].get(a); };
  return {
    getHoldingRegister: at('holding'),
    getInputRegister: at('input'),
    getCoil: (a) => { if (a >= meter.coils) throw illegal(); return coils.has(a); },
  };
}

const [mode, where, extra] = process.argv.slice(2);
const ready = () => process.stdout.write('READY\n');
process.on('SIGTERM', () => process.exit(0));

if (mode === 'tcp') {
  const ModbusRTU = require('modbus-serial');
  const server = new ModbusRTU.ServerTCP(vector(() => true), { host: '127.0.0.1', port: Number(where), unitID: 255 });
  server.on('socketError', (e) => console.error('socket error', e.message));
  server.on('initialized', ready);
} else if (mode === 'rtu') {
  const ModbusRTU = require('modbus-serial');
  const units = new Set(String(extra || '1').split(',').map(Number));
  const server = new ModbusRTU.ServerSerial(vector((u) => units.has(u)), { path: where, baudRate: 9600, unitID: 255 });
  server.on('initialized', ready);
  server.on('socketError', (e) => console.error('serial error', e.message));
} else if (mode === 'rtu-over-tcp') {
  const Modbus = require('jsmodbus');
  const toBuffer = (arr) => { const b = Buffer.alloc(arr.length * 2); arr.forEach((v, i) => b.writeUInt16BE(v, 2 * i)); return b; };
  const bits = (f) => { const b = Buffer.alloc(REGISTERS / 8); for (let a = 0; a < REGISTERS; a++) if (f(a)) b[a >> 3] |= 1 << (a & 7); return b; };
  const options = { holding: toBuffer(image.holding), input: toBuffer(image.input), coils: bits((a) => a % 3 === 0), discrete: bits((a) => a % 2 === 1) };
  const tcp = net.createServer((socket) => { new Modbus.server.RTU(socket, options); socket.on('error', () => {}); });
  tcp.listen(Number(where), '127.0.0.1', ready);
} else if (mode === 'meter-tcp') {
  const ModbusRTU = require('modbus-serial');
  const server = new ModbusRTU.ServerTCP(meterVector(), { host: '127.0.0.1', port: Number(where), unitID: 255 });
  server.on('socketError', (e) => console.error('socket error', e.message));
  server.on('initialized', ready);
} else if (mode === 'faulty-rtu') {
  faultyRtu(where);
} else if (mode === 'faulty-tcp') {
  faultyTcp(Number(where));
} else {
  console.error('usage: node peer.js tcp|rtu|rtu-over-tcp|faulty-rtu|faulty-tcp ...');
  process.exit(2);
}

// ---- our own peers, for faults no library server produces ------------------------------------

function crc16(buf) {
  let crc = 0xffff;
  for (const byte of buf) {
    crc ^= byte;
    for (let i = 0; i < 8; i++) crc = (crc & 1) ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}
function withCrc(body) { const b = Buffer.alloc(body.length + 2); body.copy(b); b.writeUInt16LE(crc16(body), body.length); return b; }

// The answer to a read request PDU, register value = address (fn 3, 4), bit = address % 2 (fn 1, 2).
function answerPdu(pdu) {
  const fn = pdu[0], start = pdu.readUInt16BE(1), count = pdu.readUInt16BE(3);
  if (fn === 3 || fn === 4) {
    const b = Buffer.alloc(2 + 2 * count); b[0] = fn; b[1] = 2 * count;
    for (let i = 0; i < count; i++) b.writeUInt16BE((start + i) & 0xffff, 2 + 2 * i);
    return b;
  }
  const n = Math.ceil(count / 8), b = Buffer.alloc(2 + n); b[0] = fn; b[1] = n;
  for (let i = 0; i < count; i++) if ((start + i) % 2 === 1) b[2 + (i >> 3)] |= 1 << (i & 7);
  return b;
}

// FAULTS, by unit id. 1: correct. 2: bad CRC, always. 3: bad CRC on every other request (a retry
// succeeds). 4: line noise (random bytes). 5: answers as unit 99 first, then correctly.
// 6: a truncated frame. 7: exception 4 (server device failure). 8: answers for another function.
// 9: answers 1500 ms late. 10: silent.
function faultyRtu(ptyPath) {
  const { SerialPort } = require('serialport');
  const port = new SerialPort({ path: ptyPath, baudRate: 9600 });
  let pending = Buffer.alloc(0), timer = null, toggle = 0, seed = 12345;
  const random = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed & 0xff; };
  port.on('open', ready);
  port.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    clearTimeout(timer);
    timer = setTimeout(() => { const frame = pending; pending = Buffer.alloc(0); onFrame(frame); }, 5);
  });
  function onFrame(frame) {
    if (frame.length !== 8 || crc16(frame.subarray(0, 6)) !== frame.readUInt16LE(6)) { console.error('bad request', frame.toString('hex')); return; }
    const unit = frame[0], pdu = frame.subarray(1, 6);
    const good = withCrc(Buffer.concat([Buffer.from([unit]), answerPdu(pdu)]));
    const corrupt = () => { const b = Buffer.from(good); b[b.length - 1] ^= 0x5a; return b; };
    switch (unit) {
      case 1: port.write(good); break;
      case 2: port.write(corrupt()); break;
      case 3: port.write(toggle++ % 2 === 0 ? corrupt() : good); break;
      case 4: { const b = Buffer.alloc(7); for (let i = 0; i < b.length; i++) b[i] = random(); b[0] = 4; b[1] = 0x03; b[2] = 0xfa; port.write(b); break; }
      case 5: port.write(withCrc(Buffer.concat([Buffer.from([99]), answerPdu(pdu)]))); setTimeout(() => port.write(good), 10); break;
      case 6: port.write(good.subarray(0, good.length - 3)); break;
      case 7: port.write(withCrc(Buffer.from([unit, pdu[0] | 0x80, 4]))); break;
      case 8: { const a = answerPdu(pdu); a[0] = a[0] === 3 ? 4 : 3; port.write(withCrc(Buffer.concat([Buffer.from([unit]), a]))); break; }
      case 9: setTimeout(() => port.write(good), 1500); break;
      default: break;
    }
  }
}

// FAULTS, by unit id. 1: correct. 2: a stale answer (old transaction id) first, then the answer.
// 3: answers as unit 99 first, then correctly. 4: protocol id 1 (a broken stream). 5: silent.
// 6: exception 11 (gateway target failed to respond). 7: closes the connection.
function faultyTcp(portNumber) {
  const server = net.createServer((socket) => {
    let pending = Buffer.alloc(0);
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 7 && pending.length >= 6 + pending.readUInt16BE(4)) {
        const len = 6 + pending.readUInt16BE(4), frame = pending.subarray(0, len);
        pending = pending.subarray(len);
        const tid = frame.readUInt16BE(0), unit = frame[6], pdu = frame.subarray(7);
        const adu = (t, u, p, proto = 0) => { const h = Buffer.alloc(7); h.writeUInt16BE(t, 0); h.writeUInt16BE(proto, 2); h.writeUInt16BE(p.length + 1, 4); h[6] = u; return Buffer.concat([h, p]); };
        switch (unit) {
          case 1: socket.write(adu(tid, unit, answerPdu(pdu))); break;
          case 2: socket.write(Buffer.concat([adu((tid - 1) & 0xffff, unit, answerPdu(pdu)), adu(tid, unit, answerPdu(pdu))])); break;
          case 3: socket.write(Buffer.concat([adu(tid, 99, answerPdu(pdu)), adu(tid, unit, answerPdu(pdu))])); break;
          case 4: socket.write(adu(tid, unit, answerPdu(pdu), 1)); break;
          case 6: socket.write(adu(tid, unit, Buffer.from([pdu[0] | 0x80, 11]))); break;
          case 7: socket.destroy(); return;
          default: break;
        }
      }
    });
  });
  server.listen(portNumber, '127.0.0.1', ready);
}
