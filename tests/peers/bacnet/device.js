#!/usr/bin/env node
// BACnet/IP devices for Pattoo.Edge's tests, built on @bacnet-js/client. Prints "READY" on stdout once
// every device listens.
//   node device.js SPEC [SPEC...]       SPEC = name:port:instance[:mode[:extra]]
// extra: that many more objects (for the benchmark), analog-input, binary-input and multi-state-value in
//   turn from instance 1000 up (objects.js); 0 when left out.
// modes:
//   normal      ReadProperty and ReadPropertyMultiple; answers too big for the client's max APDU are sent
//               segmented (clause 5.4.5: first segment, then windows, waiting for Segment-ACKs)
//   no-rpm      ReadPropertyMultiple is left to the library, which answers Error services/reject-unrecognized-service
//   reject-rpm  ReadPropertyMultiple gets a Reject PDU (unrecognized-service)
//   no-segment  like normal, but never segments: a too-big answer gets Abort segmentation-not-supported
//   no-cov      like normal, but SubscribeCOV is refused (Error services/service-request-denied)
// Every mode but no-cov takes SubscribeCOV (clause 13.14): subscriptions per object with their lifetime;
// a value set on stdin is sent to the object's subscribers as a COV notification (confirmed ones wait
// for the Simple-ACK, retried twice); a restart of the process forgets every subscription.
// stdin: "mute NAME" makes that device stop answering (a device that went away), "unmute NAME" brings it back;
//   "set NAME TYPE:INSTANCE VALUE" sets an object's present value (a REAL) and notifies its subscribers;
//   "command NAME TYPE:INSTANCE PRIORITY VALUE" writes a REAL into a commandable object's priority array
//   (as another controller would; "null" relinquishes it).
// WriteProperty of present-value is taken as clause 15.9 says (see the handler below).
// Every device binds 127.0.0.1 only.
'use strict';
const bacnet = require('@bacnet-js/client');
const { ReadPropertyMultiple } = require('@bacnet-js/client/dist/lib/services');
const { objects } = require('./objects');

const BACnetClient = bacnet.default;
const MAX_APDU = [50, 128, 206, 480, 1024, 1476];
const WINDOW = 4;
const REAL = (v) => [{ type: bacnet.ApplicationTag.REAL, value: v }];

function errorValue(errorClass, errorCode) {
  return [{ value: { type: 'BacnetError', errorClass, errorCode } }];
}

// Reads one property: { values } or { errorClass, errorCode } (clause 15.5).
function readOne(table, objectId, id, index) {
  const object = table.get(`${objectId.type}:${objectId.instance}`);
  if (!object) return { errorClass: bacnet.ErrorClass.OBJECT, errorCode: bacnet.ErrorCode.UNKNOWN_OBJECT };
  const values = object[id];
  if (values === undefined) return { errorClass: bacnet.ErrorClass.PROPERTY, errorCode: bacnet.ErrorCode.UNKNOWN_PROPERTY };
  if (index === undefined || index === bacnet.ASN1_ARRAY_ALL) return { values };
  if (index === 0) return { values: [{ type: bacnet.ApplicationTag.UNSIGNED_INTEGER, value: values.length }] };
  if (index > values.length) return { errorClass: bacnet.ErrorClass.PROPERTY, errorCode: bacnet.ErrorCode.INVALID_ARRAY_INDEX };
  return { values: [values[index - 1]] };
}

function startDevice(spec) {
  const [name, portText, instanceText, mode = 'normal', extraText = '0'] = spec.split(':');
  const port = Number(portText);
  const instance = Number(instanceText);
  const table = objects(instance, name, Number(extraText));
  const client = new BACnetClient({ port, interface: '127.0.0.1', broadcastAddress: '127.255.255.255', apduTimeout: 2000 });
  const device = { name, client, muted: false };
  const segments = mode === 'normal';

  function sendApdu(receiver, apdu) {
    const npdu = Buffer.from([0x01, 0x00]);
    const length = 4 + npdu.length + apdu.length;
    const datagram = Buffer.concat([Buffer.from([0x81, 0x0a, length >> 8, length & 0xff]), npdu, apdu]);
    client._transport.send(datagram, datagram.length, receiver.address);
  }

  // Segmented Complex-ACKs: the transfer waiting for a Segment-ACK, per client address and invoke id.
  const transfers = new Map();

  function sendWindow(t) {
    const end = Math.min(t.base + (t.base === 0 ? 1 : t.window), t.segments.length);
    for (let s = t.base; s < end; s++) {
      const more = s < t.segments.length - 1;
      const header = Buffer.from([0x38 | (more ? 0x04 : 0), t.invokeId, s & 0xff, WINDOW, t.service]);
      sendApdu(t.receiver, Buffer.concat([header, t.segments[s]]));
    }
    clearTimeout(t.timer);
    t.timer = setTimeout(() => { if (++t.tries < 4) sendWindow(t); else transfers.delete(t.key); }, 1000);
  }

  function onSegmentAck(receiverAddress, apdu) {
    const key = `${receiverAddress}/${apdu[1]}`;
    const t = transfers.get(key);
    if (!t) return;
    const negative = (apdu[0] & 0x02) !== 0;
    const seq = apdu[2];
    t.window = Math.max(1, Math.min(apdu[3], WINDOW));
    t.base = negative ? seq + 1 : seq + 1;
    t.tries = 0;
    if (t.base >= t.segments.length) { clearTimeout(t.timer); transfers.delete(key); return; }
    sendWindow(t);
  }

  // Take Segment-ACKs before the library (which would treat them as data of its own).
  const transport = client._transport;
  const libraryListeners = transport.listeners('message');
  transport.removeAllListeners('message');
  transport.on('message', (msg, address) => {
    if (device.muted) return;
    if (msg.length >= 10 && msg[0] === 0x81 && msg[4] === 0x01 && msg[5] === 0x00 && (msg[6] >> 4) === 4) {
      onSegmentAck(address, msg.subarray(6));
      return;
    }
    for (const l of libraryListeners) l(msg, address);
  });

  client.on('whoIs', (content) => {
    if (device.muted) return;
    const { lowLimit, highLimit } = content.payload || {};
    if (lowLimit !== undefined && (instance < lowLimit || instance > highLimit)) return;
    client.iAmResponse({ address: content.header.sender.address }, instance, segments ? bacnet.Segmentation.SEGMENTED_BOTH : bacnet.Segmentation.NO_SEGMENTATION, 999);
  });

  client.on('readProperty', (content) => {
    if (device.muted) return;
    const receiver = { address: content.header.sender.address };
    const { objectId, property } = content.payload;
    const r = readOne(table, objectId, property.id, property.index);
    // A device that cannot segment refuses an answer larger than the client takes (the whole
    // object-list of a big device): the client then reads the list element by element.
    const wholeArray = property.id === bacnet.PropertyIdentifier.OBJECT_LIST && (property.index === undefined || property.index === bacnet.ASN1_ARRAY_ALL);
    if (r.values && wholeArray && 20 + 5 * r.values.length > (MAX_APDU[content.maxApdu] || 50)) {
      sendApdu(receiver, Buffer.from([0x71, content.invokeId, bacnet.AbortReason.SEGMENTATION_NOT_SUPPORTED]));
      return;
    }
    if (r.values) client.readPropertyResponse(receiver, content.invokeId, objectId, property, r.values);
    else client.errorResponse(receiver, bacnet.ConfirmedServiceChoice.READ_PROPERTY, content.invokeId, r.errorClass, r.errorCode);
  });

  if (mode !== 'no-rpm') {
    client.on('readPropertyMultiple', (content) => {
      if (device.muted) return;
      const receiver = { address: content.header.sender.address };
      if (mode === 'reject-rpm') {
        sendApdu(receiver, Buffer.from([0x60, content.invokeId, bacnet.RejectReason.UNRECOGNIZED_SERVICE]));
        return;
      }
      const results = content.payload.properties.map((spec) => ({
        objectId: spec.objectId,
        values: spec.properties.map((p) => {
          const r = readOne(table, spec.objectId, p.id, p.index);
          return { property: { id: p.id, index: p.index }, value: r.values || errorValue(r.errorClass, r.errorCode) };
        }),
      }));
      const buffer = { buffer: Buffer.alloc(65536), offset: 0 };
      ReadPropertyMultiple.encodeAcknowledge(buffer, results);
      const data = buffer.buffer.subarray(0, buffer.offset);
      const service = bacnet.ConfirmedServiceChoice.READ_PROPERTY_MULTIPLE;
      const maxApdu = MAX_APDU[content.maxApdu] || 50;
      if (3 + data.length <= maxApdu) {
        sendApdu(receiver, Buffer.concat([Buffer.from([0x30, content.invokeId, service]), data]));
        return;
      }
      if (!segments || (content.type & 0x02) === 0) {
        sendApdu(receiver, Buffer.from([0x71, content.invokeId, bacnet.AbortReason.SEGMENTATION_NOT_SUPPORTED]));
        return;
      }
      const size = maxApdu - 5;
      const parts = [];
      for (let at = 0; at < data.length; at += size) parts.push(data.subarray(at, at + size));
      const key = `${receiver.address}/${content.invokeId}`;
      const t = { key, receiver, invokeId: content.invokeId, service, segments: parts, base: 0, window: 1, tries: 0, timer: null };
      transfers.set(key, t);
      sendWindow(t);
    });
  }

  // COV subscriptions: key "type:instance" -> Map of "address/processId" -> { receiver, processId, confirmed, expires }.
  const subscriptions = new Map();
  device.subscriptions = subscriptions;
  client.on('subscribeCov', (content) => {
    if (device.muted) return;
    const receiver = { address: content.header.sender.address };
    const service = bacnet.ConfirmedServiceChoice.SUBSCRIBE_COV;
    const p = content.payload;
    const key = `${p.monitoredObjectId.type}:${p.monitoredObjectId.instance}`;
    if (mode === 'no-cov') {
      client.errorResponse(receiver, service, content.invokeId, bacnet.ErrorClass.SERVICES, bacnet.ErrorCode.SERVICE_REQUEST_DENIED);
      return;
    }
    if (!table.has(key)) {
      client.errorResponse(receiver, service, content.invokeId, bacnet.ErrorClass.OBJECT, bacnet.ErrorCode.UNKNOWN_OBJECT);
      return;
    }
    if (!subscriptions.has(key)) subscriptions.set(key, new Map());
    const who = `${receiver.address}/${p.subscriberProcessId}`;
    if (p.cancellationRequest) subscriptions.get(key).delete(who);
    else subscriptions.get(key).set(who, { receiver, processId: p.subscriberProcessId, confirmed: p.issueConfirmedNotifications, expires: p.lifetime ? Date.now() + p.lifetime * 1000 : Infinity });
    process.stdout.write(`SUBSCRIBED ${name} ${key} ${p.cancellationRequest ? 'cancel' : (p.issueConfirmedNotifications ? 'confirmed' : 'unconfirmed') + ' ' + p.lifetime}\n`);
    client.simpleAckResponse(receiver, service, content.invokeId);
    // Clause 13.1.2: a new subscription gets the current values at once.
    if (!p.cancellationRequest) notify(key, subscriptions.get(key).get(who));
  });

  function notify(key, s) {
    const object = table.get(key);
    const [type, inst] = key.split(':').map(Number);
    const values = [
      { property: { id: bacnet.PropertyIdentifier.PRESENT_VALUE }, value: object[bacnet.PropertyIdentifier.PRESENT_VALUE] },
      { property: { id: bacnet.PropertyIdentifier.STATUS_FLAGS }, value: object[bacnet.PropertyIdentifier.STATUS_FLAGS] },
    ];
    const remaining = s.expires === Infinity ? 0 : Math.max(0, Math.round((s.expires - Date.now()) / 1000));
    if (s.confirmed) {
      client.confirmedCOVNotification(s.receiver, { type, instance: inst }, s.processId, instance, remaining, values, { maxSegments: 0 })
        .catch((e) => process.stderr.write(`${name}: confirmed COV notification: ${e.message}\n`));
    } else {
      client.unconfirmedCOVNotification(s.receiver, s.processId, instance, { type, instance: inst }, remaining, values);
    }
  }

  // WriteProperty (clause 15.9) of present-value: commandable objects (with a priority array) take
  // the value, or NULL to relinquish, at the request's priority and command the highest one; other
  // writable objects take the value itself. Inputs are read-only, the value must keep the property's
  // datatype, and analog-value:1 (a humidity) takes 0-100 only. Each write is printed:
  // "WRITE name type:instance priority value".
  client.on('writeProperty', (content) => {
    if (device.muted) return;
    const receiver = { address: content.header.sender.address };
    const service = bacnet.ConfirmedServiceChoice.WRITE_PROPERTY;
    const refuse = (errorClass, errorCode) => client.errorResponse(receiver, service, content.invokeId, errorClass, errorCode);
    const p = content.payload;
    const key = `${p.objectId.type}:${p.objectId.instance}`;
    const object = table.get(key);
    if (!object) return refuse(bacnet.ErrorClass.OBJECT, bacnet.ErrorCode.UNKNOWN_OBJECT);
    const PV = bacnet.PropertyIdentifier.PRESENT_VALUE;
    if (p.value.property.id !== PV || object[PV] === undefined) return refuse(bacnet.ErrorClass.PROPERTY, bacnet.ErrorCode.WRITE_ACCESS_DENIED);
    const O = bacnet.ObjectType;
    if ([O.ANALOG_INPUT, O.BINARY_INPUT, O.MULTI_STATE_INPUT].includes(p.objectId.type)) return refuse(bacnet.ErrorClass.PROPERTY, bacnet.ErrorCode.WRITE_ACCESS_DENIED);
    const v = p.value.value[0];
    const isNull = v.type === bacnet.ApplicationTag.NULL;
    const pa = object[bacnet.PropertyIdentifier.PRIORITY_ARRAY];
    if ((!isNull && v.type !== object[PV][0].type) || (isNull && !pa)) return refuse(bacnet.ErrorClass.PROPERTY, bacnet.ErrorCode.INVALID_DATA_TYPE);
    if (key === `${O.ANALOG_VALUE}:1` && (v.value < 0 || v.value > 100)) return refuse(bacnet.ErrorClass.PROPERTY, bacnet.ErrorCode.VALUE_OUT_OF_RANGE);
    if (pa) {
      pa[p.value.priority - 1] = isNull ? { type: bacnet.ApplicationTag.NULL, value: null } : v;
      const active = pa.find((e) => e.type !== bacnet.ApplicationTag.NULL);
      object[PV] = [active || object[bacnet.PropertyIdentifier.RELINQUISH_DEFAULT][0]];
    } else {
      object[PV] = [v];
    }
    process.stdout.write(`WRITE ${name} ${key} ${p.value.priority} ${isNull ? 'null' : v.value}\n`);
    client.simpleAckResponse(receiver, service, content.invokeId);
    for (const [, s] of subscriptions.get(key) || []) notify(key, s);
  });

  device.command = (key, priority, value) => {
    const object = table.get(key);
    const pa = object && object[bacnet.PropertyIdentifier.PRIORITY_ARRAY];
    if (!pa) return false;
    pa[priority - 1] = value === 'null' ? { type: bacnet.ApplicationTag.NULL, value: null } : { type: bacnet.ApplicationTag.REAL, value: Number(value) };
    const active = pa.find((e) => e.type !== bacnet.ApplicationTag.NULL);
    object[bacnet.PropertyIdentifier.PRESENT_VALUE] = [active || object[bacnet.PropertyIdentifier.RELINQUISH_DEFAULT][0]];
    return true;
  };

  device.set = (key, value) => {
    const object = table.get(key);
    if (!object) return false;
    object[bacnet.PropertyIdentifier.PRESENT_VALUE] = REAL(value);
    for (const [who, s] of subscriptions.get(key) || []) {
      if (s.expires < Date.now()) { subscriptions.get(key).delete(who); continue; }
      notify(key, s);
    }
    return true;
  };

  client.on('error', (e) => { process.stderr.write(`${name}: ${e.message}\n`); });
  return new Promise((resolve) => client.on('listening', () => resolve(device)));
}

async function main() {
  const specs = process.argv.slice(2);
  if (specs.length === 0) {
    process.stderr.write('usage: node device.js name:port:instance[:mode[:extra]] ...\n');
    process.exit(2);
  }
  const devices = await Promise.all(specs.map(startDevice));
  const byName = new Map(devices.map((d) => [d.name, d]));
  let line = '';
  process.stdin.on('data', (chunk) => {
    line += chunk.toString();
    let nl;
    while ((nl = line.indexOf('\n')) >= 0) {
      const [command, name, key, value, commanded] = line.slice(0, nl).trim().split(/\s+/);
      line = line.slice(nl + 1);
      const d = byName.get(name);
      if (d && command === 'mute') d.muted = true;
      if (d && command === 'unmute') d.muted = false;
      if (d && command === 'set') d.set(key, Number(value));
      if (d && command === 'command') d.command(key, Number(value), commanded);
      process.stdout.write(`OK ${command} ${name}\n`);
    }
  });
  process.stdin.on('end', () => process.exit(0));
  process.stdout.write('READY\n');
}

main().catch((e) => { process.stderr.write(`${e.stack}\n`); process.exit(1); });
