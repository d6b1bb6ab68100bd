import { describe, expect, it } from 'vitest';
import { FixedHeaderScanner } from './stream-guard.js';

const limits = { maxPacketBytes: 1024, maxConnectBytes: 256, unauthenticatedBytes: 4096 };

function connect(name: string, level: number): Buffer {
  const nameBytes = Buffer.from(name, 'latin1');
  const body = Buffer.concat([Buffer.from([0, nameBytes.length]), nameBytes, Buffer.from([level, 0x02, 0, 60, 0, 1, 0x61])]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

/** Feeds one byte at a time (the worst split a network can make); answers the first violation. */
function feedBytewise(scanner: FixedHeaderScanner, bytes: Buffer) {
  for (const byte of bytes) {
    const violation = scanner.feed(Buffer.from([byte]));
    if (violation) return violation;
  }
  return undefined;
}

describe('stream guard: the CONNECT protocol name and level', () => {
  it('passes MQTT 3.1.1, MQTT 3.1 and a bridge (level 0x84), however the bytes are split, then scans on', () => {
    for (const [name, level] of [['MQTT', 4], ['MQIsdp', 3], ['MQTT', 0x84]] as const) {
      const scanner = new FixedHeaderScanner(limits);
      expect(feedBytewise(scanner, Buffer.concat([connect(name, level), Buffer.from([0xc0, 0x00])]))).toBeUndefined();
      expect(scanner.protocolLevel).toBe(level & 0x7f);
      expect(scanner.packets).toBe(2);
    }
  });

  it('refuses a level other than 3 and 4 (MQTT 5 included), and a name other than MQTT or MQIsdp', () => {
    for (const level of [0, 1, 5, 9, 255]) expect(feedBytewise(new FixedHeaderScanner(limits), connect('MQTT', level))).toBe('protocol_version');
    for (const name of ['XXXX', 'MQTTX', 'mqtt', '']) expect(feedBytewise(new FixedHeaderScanner(limits), connect(name, 4))).toBe('protocol_name');
  });

  it('leaves a CONNECT that ends before its level to the parser', () => {
    expect(new FixedHeaderScanner(limits).feed(Buffer.from([0x10, 0x03, 0x00, 0x04, 0x4d]))).toBeUndefined();
  });
});
