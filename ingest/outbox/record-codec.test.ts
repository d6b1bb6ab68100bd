import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { keyOf, type Reading } from '../../domain/index.js';
import { decodeRecords, encodeRecords } from './record-codec.js';

const reading = (n: number, tags: Record<string, string>): Reading => ({
  type: 'glucose',
  deviceId: 'dev-1',
  patientId: 'pat-1',
  time: 1_764_470_000_000 + n,
  msgId: `m${n}`,
  receivedAt: 1_764_470_000_500 + n,
  late: n % 2 === 0,
  fields: { mmol_l: 5.4 + n },
  tags,
});

describe('outbox records', () => {
  it('written before the key left the record (it carried the idempotency key) decode to the same reading and key', () => {
    const json = '{"key":"dev-1|glucose|1764470000000|m0","type":"glucose","deviceId":"dev-1","patientId":"pat-1","time":1764470000000,"msgId":"m0","receivedAt":1764470000500,"late":true,"fields":{"mmol_l":5.4},"tags":{"ucum":"mmol/L"}}';
    const line = `${crc32(Buffer.from(json)).toString(16).padStart(8, '0')} ${json}\n`;
    const [decoded] = decodeRecords(Buffer.from(line)).records;
    expect(decoded).toMatchObject(reading(0, { ucum: 'mmol/L' }));
    expect(keyOf(decoded!)).toBe('dev-1|glucose|1764470000000|m0');
    // What is written now leaves the key out: it is derived from the parts beside it.
    expect(encodeRecords([reading(0, {})]).toString()).not.toContain('"key"');
  });

  // Checksums with leading zero digits, and UTF-8 of two, three and four bytes (a µ, a ≥, an emoji in a tag).
  const readings = Array.from({ length: 300 }, (_, n) => reading(n, { ucum: 'mmol/L', note: ['µmol', '≥ 7', '🩸', 'plain'][n % 4]! }));

  it('are "<crc32 of the JSON bytes, 8 hex digits> <JSON>\\n", one per reading', () => {
    const lines = encodeRecords(readings).toString('utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(readings.length);
    lines.forEach((line, i) => {
      const json = JSON.stringify(readings[i]);
      expect(line).toBe(`${crc32(Buffer.from(json, 'utf8')).toString(16).padStart(8, '0')} ${json}`);
    });
    expect(lines.some((line) => line.startsWith('0'))).toBe(true);
  });

  it('decode to the readings encoded, none damaged', () => {
    const decoded = decodeRecords(encodeRecords(readings));
    expect(decoded.damaged).toEqual([]);
    expect(decoded.records).toEqual(readings);
  });

  it('pass a record blanked by an erasure (spaces, its newline kept) over, and still report a damaged one', () => {
    const bytes = encodeRecords(readings.slice(0, 3));
    const first = bytes.indexOf(10);
    bytes.fill(32, 0, first);
    const second = bytes.indexOf(10, first + 1);
    bytes[second - 2] = 0x21;
    const decoded = decodeRecords(bytes);
    expect(decoded.records).toEqual([readings[2]]);
    expect(decoded.damaged.map((d) => d.offset)).toEqual([first + 1]);
    expect(decoded.consumed).toBe(bytes.length);
  });
});
