import { crc32 } from 'node:zlib';
import type { Reading } from '../../domain/index.js';

/**
 * One outbox record per line: `<crc32 hex> <reading JSON>\n`. The checksum and the newline let recovery tell a
 * complete record from one torn by a crash mid-write; a torn record was never acknowledged, so it is cut off.
 */
export function encodeRecord(reading: Reading): Buffer {
  const json = JSON.stringify(reading);
  const body = Buffer.from(json, 'utf8');
  const head = Buffer.from(`${crc32(body).toString(16).padStart(8, '0')} `, 'ascii');
  return Buffer.concat([head, body, NEWLINE]);
}

const NEWLINE = Buffer.from('\n');
const HEAD = 9; // 8 hex digits and a space

export interface DecodedChunk {
  readonly records: Reading[];
  /** Bytes of `chunk` that held complete, valid records. */
  readonly consumed: number;
  /** True when a complete line failed its checksum: the bytes from `consumed` on are not trustworthy. */
  readonly corrupt: boolean;
}

/** Decodes the complete records at the start of a chunk; an incomplete last line is left for the next read. */
export function decodeRecords(chunk: Buffer, maxRecords = Number.POSITIVE_INFINITY): DecodedChunk {
  const records: Reading[] = [];
  let consumed = 0;
  while (records.length < maxRecords) {
    const end = chunk.indexOf(10, consumed);
    if (end < 0) break;
    const line = chunk.subarray(consumed, end);
    const body = line.subarray(HEAD);
    const expected = Number.parseInt(line.subarray(0, 8).toString('ascii'), 16);
    if (line.length <= HEAD || line[8] !== 32 || crc32(body) !== expected) {
      return { records, consumed, corrupt: true };
    }
    records.push(JSON.parse(body.toString('utf8')) as Reading);
    consumed = end + 1;
  }
  return { records, consumed, corrupt: false };
}
