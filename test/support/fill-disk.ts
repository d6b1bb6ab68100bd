import { open } from 'node:fs/promises';
import { join } from 'node:path';

/** Fills the file system at `dir` with one file until it reports ENOSPC; returns the file (unlink it to free the space). */
export async function fillDisk(dir: string): Promise<string> {
  const path = join(dir, 'filler');
  const handle = await open(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (let i = 0; i < 10_000; i++) await handle.write(chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    await handle.close();
  }
  return path;
}
