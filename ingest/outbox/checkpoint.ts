import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { fsyncPath } from '../../domain/index.js';
import type { Position } from './segments.js';

const FILE = 'checkpoint.json';
const checkpointSchema = z.object({ segment: z.number().int().min(0), offset: z.number().int().min(0) });

/**
 * The position up to which the outbox has been stored: missing on a new outbox, `damaged` when the file cannot
 * be read as a position (the caller then ships again from the oldest segment: stores overwrite duplicates).
 */
export async function readCheckpoint(dir: string): Promise<Position | undefined | 'damaged'> {
  let text: string;
  try {
    text = await readFile(join(dir, FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return checkpointSchema.parse(JSON.parse(text));
  } catch {
    return 'damaged';
  }
}

/** Write, fsync, rename, fsync the directory: after a crash the checkpoint is the old one or the new one. */
export async function writeCheckpoint(dir: string, position: Position): Promise<void> {
  const tmp = join(dir, `${FILE}.tmp`);
  await writeFile(tmp, JSON.stringify(position));
  await fsyncPath(tmp);
  await rename(tmp, join(dir, FILE));
  await fsyncPath(dir);
}
