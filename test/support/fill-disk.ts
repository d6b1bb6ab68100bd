import { execFile } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

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

/**
 * A 4 MB tmpfs in a temp dir, for tests of a full disk. Mounting needs root: where the sandbox forbids it,
 * `mounted` is false and the reason is printed, and the test skips itself.
 */
export async function smallTmpfs(what: string): Promise<{ path: string; mounted: boolean; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'vigil-tmpfs-'));
  let mounted = false;
  try {
    await exec('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', path]);
    mounted = true;
  } catch (err) {
    process.stderr.write(`${what} skipped: cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]})\n`);
  }
  return {
    path,
    mounted,
    async remove() {
      if (mounted) await exec('umount', ['-l', path]).catch(() => undefined);
      await rm(path, { recursive: true, force: true });
    },
  };
}
