import { link, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { VigilError } from '../../domain/index.js';
import { liveHolderOf, processIdentityText } from '../process-identity.js';

/**
 * Held in the data dir by the one `vigil restore` writing into it. Two restores at once would each remove the
 * other's staging copy (taken for what a killed restore left) and move files under each other. Not a name a
 * restore moves aside or removes as a stale staging copy (`.restore-`).
 */
export const RESTORE_LOCK = '.restore.lock';

/**
 * The lock's text: the pid, the boot id and the process's start time, as the instance file has them, then a
 * token of this restore: two restores of one process (a test, a tool) must not take each other's lock for theirs.
 */
function ownText(): string {
  return `${processIdentityText()}${randomUUID()}\n`;
}

/**
 * The pid of the live process holding the lock, undefined when its holder is gone (killed, another boot, its pid
 * reused). Another user's live process holds it: a restore that may be writing.
 */
async function liveHolder(text: string, path: string): Promise<number | undefined> {
  const writtenAtMs = await stat(path).then((s) => s.mtimeMs, () => Date.now());
  return liveHolderOf(text, writtenAtMs, { sameStart: true, otherUsers: true });
}

/**
 * Takes the data dir's restore lock, or refuses (VIGIL_ERR_CONFLICT) while another live restore holds it.
 * Answers the release. The lock appears whole or not at all (written beside, then linked into place, which
 * fails if one is there): a half-written lock read as stale would be taken from a live restore. A lock whose
 * holder is gone (a restore killed midway) is taken over: moved aside under a name of this process, and kept
 * only if it is still the stale one that was read (else it was a live restore's, which is put back).
 */
export async function lockRestore(dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, RESTORE_LOCK);
  const mine = ownText();
  const beside = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  await writeFile(beside, mine, { mode: 0o600 });
  try {
    // Three rounds: a lock released or taken over between two steps is looked at again; more would be a race
    // with restores that keep coming, refused like a live one.
    for (let round = 0; round < 3; round++) {
      const taken = await link(beside, path).then(
        () => true,
        (err: NodeJS.ErrnoException) => {
          if (err.code === 'EEXIST') return false;
          throw err;
        },
      );
      if (taken) {
        await rm(beside, { force: true });
        return () => release(path, mine);
      }
      const text = await readFile(path, 'utf8').catch(() => undefined);
      if (text === undefined) continue;
      const pid = await liveHolder(text, path);
      if (pid !== undefined) throw conflict(dataDir, pid);
      const stale = `${path}.stale.${process.pid}`;
      if (!(await rename(path, stale).then(() => true, () => false))) continue;
      const moved = await readFile(stale, 'utf8').catch(() => undefined);
      // Another restore took the stale lock over in between: this was its live lock; back it goes (unless yet
      // another took its place), and the next round refuses.
      if (moved !== text) await link(stale, path).catch(() => undefined);
      await rm(stale, { force: true });
    }
    throw conflict(dataDir, undefined);
  } catch (err) {
    await rm(beside, { force: true });
    throw err;
  }
}

function conflict(dataDir: string, pid: number | undefined): VigilError {
  const who = pid === undefined ? 'another vigil restore' : `another vigil restore (pid ${pid})`;
  return new VigilError('VIGIL_ERR_CONFLICT', `${who} is restoring into ${dataDir}: wait for it to end, then run this one again if still needed`);
}

/** Removes the lock if it is still this restore's (never one another restore holds). */
async function release(path: string, mine: string): Promise<void> {
  const there = await readFile(path, 'utf8').catch(() => undefined);
  if (there === mine) await rm(path, { force: true });
}
