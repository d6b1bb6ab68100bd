import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { patientMarker } from './record-codec.js';

/**
 * Removes the damaged records of a patient that the outbox set aside for an operator (`outbox/quarantine/`, one
 * file per damaged line), for an erasure: such a line cannot be decoded, so it is recognised by the patient's id
 * as records write it (`"patientId":"..."`), which a damaged line usually still holds. Answers how many it removed.
 */
export async function eraseQuarantinedRecords(outboxDir: string, patientId: string): Promise<number> {
  const dir = join(outboxDir, 'quarantine');
  const files = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  const needle = patientMarker(patientId);
  let removed = 0;
  for (const name of files.filter((f) => f.endsWith('.bad'))) {
    const file = join(dir, name);
    const bytes = await readFile(file).catch(() => undefined);
    if (!bytes?.includes(needle)) continue;
    await unlink(file).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    removed += 1;
  }
  return removed;
}
