import { crc32 } from 'node:zlib';
import type { Reading } from '../../domain/index.js';

/**
 * Outbox records, one per line: `<crc32 hex> <reading JSON>\n`. The checksum and the newline let recovery tell a
 * complete record from one torn by a crash mid-write (no newline yet: never acknowledged, cut off), and a
 * damaged record (a complete line that fails its checksum or does not parse) from the good ones around it:
 * the newline is where reading resynchronises, so one damaged record never takes the records after it along.
 */
export function encodeRecords(readings: readonly Reading[]): Buffer {
  const jsons = new Array<string>(readings.length);
  let size = 0;
  for (let i = 0; i < readings.length; i++) {
    const json = JSON.stringify(readings[i]);
    jsons[i] = json;
    size += HEAD + Buffer.byteLength(json, 'utf8') + 1;
  }
  // One allocation for the whole batch: each JSON is written after room for its checksum, whose hex digits are
  // then written in place (no string per record). zlib's checksum of the bytes written, not of the JSON string:
  // given a string, it encodes a copy first, measured slower.
  const records = Buffer.allocUnsafe(size);
  let at = 0;
  for (const json of jsons) {
    const start = at + HEAD;
    const end = start + records.write(json, start, 'utf8');
    writeHex8(records, at, crc32(records.subarray(start, end)));
    records[at + 8] = SPACE;
    records[end] = NEWLINE;
    at = end + 1;
  }
  return records;
}

const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');

/** `value` (unsigned 32-bit) as 8 lowercase hex digits at `at`, as `toString(16).padStart(8, '0')` spells it. */
function writeHex8(into: Buffer, at: number, value: number): void {
  for (let i = 7; i >= 0; i--) {
    into[at + i] = HEX_DIGITS[value & 15]!;
    value >>>= 4;
  }
}

const SPACE = 32;
const NEWLINE = 10;
const HEAD = 9; // 8 hex digits and a space

/** A complete line that is not a record: kept aside (quarantined), never shipped. */
export interface DamagedLine {
  /** Offset of the line in the chunk. */
  readonly offset: number;
  readonly bytes: Buffer;
  readonly reason: 'checksum' | 'json';
}

export interface DecodedChunk {
  readonly records: Reading[];
  /** Bytes of `chunk` that held complete lines, good or damaged. */
  readonly consumed: number;
  readonly damaged: DamagedLine[];
}

/**
 * Bytes every record of this patient holds, as encodeRecords writes a reading (JSON.stringify of its fields):
 * what finds a patient's records in a segment, or in a damaged line, without decoding the others.
 */
export function patientMarker(patientId: string): Buffer {
  return Buffer.from(`"patientId":${JSON.stringify(patientId)}`);
}

/**
 * A record blanked by an erasure (lifecycle/patient): its bytes overwritten with spaces in place, the newline
 * kept, so that a segment's offsets and its other records stay as they were. No record starts with a space (a
 * record starts with its checksum's hex digits), and one torn by a crash holds what was written or zeros.
 */
export function isBlanked(line: Buffer): boolean {
  if (line.length === 0 || line[0] !== SPACE) return false;
  for (const byte of line) if (byte !== SPACE) return false;
  return true;
}

/**
 * Decodes the complete lines at the start of a chunk; an incomplete last line is left for the next read. A
 * blanked record is passed over: neither a record nor damage.
 */
export function decodeRecords(chunk: Buffer, maxRecords = Number.POSITIVE_INFINITY): DecodedChunk {
  const records: Reading[] = [];
  const damaged: DamagedLine[] = [];
  let consumed = 0;
  while (records.length < maxRecords) {
    const end = chunk.indexOf(10, consumed);
    if (end < 0) break;
    const line = chunk.subarray(consumed, end);
    if (isBlanked(line)) {
      consumed = end + 1;
      continue;
    }
    const body = line.subarray(HEAD);
    const expected = Number.parseInt(line.subarray(0, 8).toString('ascii'), 16);
    if (line.length <= HEAD || line[8] !== 32 || crc32(body) !== expected) {
      damaged.push({ offset: consumed, bytes: Buffer.from(line), reason: 'checksum' });
    } else {
      try {
        records.push(JSON.parse(body.toString('utf8')) as Reading);
      } catch {
        damaged.push({ offset: consumed, bytes: Buffer.from(line), reason: 'json' });
      }
    }
    consumed = end + 1;
  }
  return { records, consumed, damaged };
}
