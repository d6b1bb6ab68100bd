import { open } from 'node:fs/promises';
import { readCheckpoint } from './checkpoint.js';
import { decodeRecords, patientMarker } from './record-codec.js';
import { listSegments, segmentPath } from './segments.js';

const READ_CHUNK = 4 * 1024 * 1024;
const NEWLINE = 10;
const SPACE = 32;

/**
 * Overwrites with spaces, in place, every record of a patient that the shipper has stored: those behind the
 * checkpoint on disk. A segment is deleted only once the checkpoint has passed it whole, so the one holding the
 * checkpoint (the active segment, with a shipper that keeps up) keeps an erased patient's shipped readings
 * legible until it rolls over at 64 MB. Answers how many records it blanked.
 *
 * Safe beside a running server writing the same outbox: the server writes only past its committed end, which is
 * past the checkpoint, and never reads behind the checkpoint again; a start reads from the checkpoint on, or,
 * with the checkpoint damaged, from the first record, passing blanked records over (record-codec.ts). Nothing
 * after the checkpoint is touched, so no reading still to be shipped can be lost, the patient's or another's.
 * A segment the server deletes meanwhile is gone, which is what blanking is for.
 */
export async function blankShippedRecords(dir: string, patientId: string): Promise<number> {
  const checkpoint = await readCheckpoint(dir).catch(() => undefined);
  // No checkpoint on disk (a new outbox, or one that cannot be read): nothing is known to be shipped.
  if (checkpoint === undefined || checkpoint === 'damaged') return 0;
  const needle = patientMarker(patientId);
  let blanked = 0;
  const segments = await listSegments(dir).catch(() => [] as number[]);
  for (const segment of segments.filter((s) => s <= checkpoint.segment)) {
    const handle = await open(segmentPath(dir, segment), 'r+').catch(() => undefined);
    if (!handle) continue;
    try {
      const size = (await handle.stat()).size;
      const end = segment < checkpoint.segment ? size : Math.min(checkpoint.offset, size);
      let wrote = 0;
      let position = 0;
      while (position < end) {
        const length = Math.min(end - position, READ_CHUNK);
        const buf = Buffer.allocUnsafe(length);
        const { bytesRead } = await handle.read(buf, 0, length, position);
        if (bytesRead === 0) break;
        const chunk = buf.subarray(0, bytesRead);
        let at = 0;
        for (;;) {
          const newline = chunk.indexOf(NEWLINE, at);
          // A line cut by the chunk's end is read again from its start with the next chunk.
          if (newline < 0) break;
          const line = chunk.subarray(at, newline);
          // The needle first, cheaply; then the record decoded, so that only the patient's own records are blanked.
          if (line.includes(needle) && decodeRecords(chunk.subarray(at, newline + 1)).records.some((r) => r.patientId === patientId)) {
            await handle.write(Buffer.alloc(line.length, SPACE), 0, line.length, position + at);
            wrote += 1;
          }
          at = newline + 1;
        }
        // A line longer than a chunk is no record this outbox wrote: past it, not stuck on it.
        position += at > 0 ? at : bytesRead;
      }
      // On disk before the erasure reports success.
      if (wrote > 0) await handle.datasync();
      blanked += wrote;
    } finally {
      await handle.close();
    }
  }
  return blanked;
}
