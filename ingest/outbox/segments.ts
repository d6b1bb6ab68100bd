import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** A place in the outbox: a segment file and a byte offset in it. */
export interface Position {
  readonly segment: number;
  readonly offset: number;
}

const SUFFIX = '.log';

export function segmentPath(dir: string, segment: number): string {
  return join(dir, `${String(segment).padStart(16, '0')}${SUFFIX}`);
}

export async function listSegments(dir: string): Promise<number[]> {
  const names = await readdir(dir);
  return names
    .filter((n) => n.endsWith(SUFFIX) && /^\d{16}$/.test(n.slice(0, -SUFFIX.length)))
    .map((n) => Number(n.slice(0, -SUFFIX.length)))
    .sort((a, b) => a - b);
}

export function comparePositions(a: Position, b: Position): number {
  return a.segment - b.segment || a.offset - b.offset;
}
