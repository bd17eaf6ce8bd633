// The objects of a test device: an air-handling unit with one object of every kind the poller reads,
// and one property of every primitive application type. Values are fixed so tests can assert them.
'use strict';
const { ApplicationTag: T, ObjectType: O, PropertyIdentifier: P, EngineeringUnits: U, StatusFlags: F } = require('@bacnet-js/client');

const REAL = (v) => [{ type: T.REAL, value: v }];
const ENUM = (v) => [{ type: T.ENUMERATED, value: v }];
const flags = (...bits) => {
  // StatusFlags bit 0 in-alarm, 1 fault, 2 overridden, 3 out-of-service.
  const value = [0];
  for (const b of bits) value[0] |= 1 << b;
  return [{ type: T.BIT_STRING, value: { bitsUsed: 4, value } }];
};
const name = (s) => [{ type: T.CHARACTER_STRING, value: s }];

// extra: more objects for the benchmark, in turn analog-input:1000+i (present value i + 0.5, degrees
// Celsius), binary-input:1000+i (i % 2) and multi-state-value:1000+i (i % 4 + 1), each with status flags.
function objects(instance, deviceName, extra = 0) {
  const table = new Map();
  const add = (type, inst, props) => table.set(`${type}:${inst}`, props);
  add(O.DEVICE, instance, {
    [P.OBJECT_IDENTIFIER]: [{ type: T.OBJECTIDENTIFIER, value: { type: O.DEVICE, instance } }],
    [P.OBJECT_NAME]: name(deviceName),
    [P.VENDOR_IDENTIFIER]: [{ type: T.UNSIGNED_INTEGER, value: 999 }],
    [P.MAX_APDU_LENGTH_ACCEPTED]: [{ type: T.UNSIGNED_INTEGER, value: 1476 }],
  });
  add(O.ANALOG_INPUT, 0, { [P.OBJECT_NAME]: name('SupplyAirTemp'), [P.PRESENT_VALUE]: REAL(13.5), [P.STATUS_FLAGS]: flags(), [P.UNITS]: ENUM(U.DEGREES_CELSIUS), [P.OUT_OF_SERVICE]: [{ type: T.BOOLEAN, value: false }] });
  add(O.ANALOG_INPUT, 1, { [P.OBJECT_NAME]: name('ReturnAirTemp'), [P.PRESENT_VALUE]: REAL(22.25), [P.STATUS_FLAGS]: flags(1), [P.UNITS]: ENUM(U.DEGREES_CELSIUS) });
  // Commandable (clause 19.2): the present value is the highest priority's non-NULL entry, else relinquish-default.
  const nulls = () => new Array(16).fill(null).map(() => ({ type: T.NULL, value: null }));
  add(O.ANALOG_VALUE, 0, { [P.OBJECT_NAME]: name('SupplyAirSetpoint'), [P.PRESENT_VALUE]: REAL(14), [P.STATUS_FLAGS]: flags(2), [P.UNITS]: ENUM(U.DEGREES_CELSIUS), [P.PRIORITY_ARRAY]: nulls(), [P.RELINQUISH_DEFAULT]: REAL(14) });
  add(O.ANALOG_VALUE, 1, { [P.OBJECT_NAME]: name('ReturnAirHumidity'), [P.PRESENT_VALUE]: REAL(45.5), [P.STATUS_FLAGS]: flags(), [P.UNITS]: ENUM(U.PERCENT_RELATIVE_HUMIDITY) });
  const priority = nulls();
  priority[7] = { type: T.REAL, value: 35.5 };
  add(O.ANALOG_OUTPUT, 0, { [P.OBJECT_NAME]: name('CoolingValve'), [P.PRESENT_VALUE]: REAL(35.5), [P.STATUS_FLAGS]: flags(), [P.UNITS]: ENUM(U.PERCENT), [P.PRIORITY_ARRAY]: priority, [P.RELINQUISH_DEFAULT]: REAL(0) });
  add(O.BINARY_INPUT, 0, { [P.OBJECT_NAME]: name('SupplyFanStatus'), [P.PRESENT_VALUE]: ENUM(1), [P.STATUS_FLAGS]: flags() });
  add(O.BINARY_VALUE, 0, { [P.OBJECT_NAME]: name('Occupied'), [P.PRESENT_VALUE]: ENUM(0), [P.STATUS_FLAGS]: flags(0, 3) });
  add(O.MULTI_STATE_VALUE, 0, { [P.OBJECT_NAME]: name('AhuMode'), [P.PRESENT_VALUE]: [{ type: T.UNSIGNED_INTEGER, value: 3 }], [P.STATUS_FLAGS]: flags(), [P.NUMBER_OF_STATES]: [{ type: T.UNSIGNED_INTEGER, value: 4 }] });
  add(O.LARGE_ANALOG_VALUE, 0, { [P.PRESENT_VALUE]: [{ type: T.DOUBLE, value: 123456.789 }], [P.STATUS_FLAGS]: flags(), [P.UNITS]: ENUM(U.KILOWATT_HOURS) });
  add(O.INTEGER_VALUE, 0, { [P.PRESENT_VALUE]: [{ type: T.SIGNED_INTEGER, value: -40 }], [P.STATUS_FLAGS]: flags(), [P.UNITS]: ENUM(U.DEGREES_FAHRENHEIT) });
  add(O.POSITIVE_INTEGER_VALUE, 0, { [P.PRESENT_VALUE]: [{ type: T.UNSIGNED_INTEGER, value: 4000000000 }], [P.STATUS_FLAGS]: flags(), [P.UNITS]: ENUM(U.NO_UNITS) });
  add(O.CHARACTERSTRING_VALUE, 0, { [P.PRESENT_VALUE]: name('occupied'), [P.STATUS_FLAGS]: flags() });
  add(O.BITSTRING_VALUE, 0, { [P.PRESENT_VALUE]: [{ type: T.BIT_STRING, value: { bitsUsed: 3, value: [0b101] } }], [P.STATUS_FLAGS]: flags() });
  add(O.DATE_VALUE, 0, { [P.PRESENT_VALUE]: [{ type: T.DATE, value: new Date(2024, 4, 1) }], [P.STATUS_FLAGS]: flags() });
  add(O.TIME_VALUE, 0, { [P.PRESENT_VALUE]: [{ type: T.TIME, value: new Date(2024, 4, 1, 13, 45, 30, 250) }], [P.STATUS_FLAGS]: flags() });
  add(O.OCTETSTRING_VALUE, 0, { [P.PRESENT_VALUE]: [{ type: T.OCTET_STRING, value: [0xde, 0xad, 0xbe, 0xef] }], [P.STATUS_FLAGS]: flags() });
  for (let i = 0; i < extra; i++) {
    const inst = 1000 + i;
    switch (i % 3) {
      case 0: add(O.ANALOG_INPUT, inst, { [P.OBJECT_NAME]: name(`Bench${i}`), [P.PRESENT_VALUE]: REAL(i + 0.5), [P.STATUS_FLAGS]: flags(), [P.UNITS]: ENUM(U.DEGREES_CELSIUS) }); break;
      case 1: add(O.BINARY_INPUT, inst, { [P.OBJECT_NAME]: name(`Bench${i}`), [P.PRESENT_VALUE]: ENUM(i % 2), [P.STATUS_FLAGS]: flags() }); break;
      default: add(O.MULTI_STATE_VALUE, inst, { [P.OBJECT_NAME]: name(`Bench${i}`), [P.PRESENT_VALUE]: [{ type: T.UNSIGNED_INTEGER, value: (i % 4) + 1 }], [P.STATUS_FLAGS]: flags(), [P.NUMBER_OF_STATES]: [{ type: T.UNSIGNED_INTEGER, value: 4 }] }); break;
    }
  }
  // The device's object-list (clause 12.11.19): every object, the device first.
  const list = [...table.keys()].map((k) => { const [type, inst] = k.split(':').map(Number); return { type: T.OBJECTIDENTIFIER, value: { type, instance: inst } }; });
  table.get(`${O.DEVICE}:${instance}`)[P.OBJECT_LIST] = list;
  return table;
}

module.exports = { objects };
