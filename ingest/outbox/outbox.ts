import { EventEmitter } from 'node:events';
import { mkdir, open, readdir, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Reading } from '../../domain/index.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { CommittedTail } from './committed-tail.js';
import { decodeRecords, encodeRecord, type DamagedLine } from './record-codec.js';
import { fsyncPath } from '../../domain/index.js';
import { listSegments, segmentPath, type Position } from './segments.js';

export interface OutboxOptions {
  readonly dir: string;
  /** A segment is sealed and a new one started past this size. */
  readonly segmentBytes?: number;
  /** Damage found (a record that cannot be read, a checkpoint that cannot be parsed): to be reported loudly. */
  readonly onDamage?: (what: string, details: Record<string, unknown>) => void;
  /**
   * The checkpoint file is rewritten at most this often (and always before a segment is deleted, and at close).
   * A crash loses at most this much progress: the shipper stores those readings again, which the stores
   * overwrite (same identity), so nothing is duplicated; every write costs two fsyncs and a rename.
   */
  readonly checkpointEveryMs?: number;
}

export interface OutboxBatch {
  readonly records: Reading[];
  /** Where the next read starts; pass it to `ack` once these records are stored. */
  readonly next: Position;
}

interface PendingAppend {
  readonly data: Buffer;
  readonly readings: readonly Reading[];
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

const READ_CHUNK = 4 * 1024 * 1024;

/**
 * The durable outbox between acknowledgement and storage: an append-only log of segment files.
 *
 * Appends are group-committed: while one write + fdatasync is in flight, new appends queue up and share the
 * next one, so many readings cost one fsync and a device's PUBACK waits only for the commit that holds its
 * readings. The shipper reads committed records from the checkpoint on and acknowledges what the store took;
 * segments wholly behind the checkpoint are deleted.
 */
export class Outbox extends EventEmitter {
  readonly #dir: string;
  readonly #segmentBytes: number;
  #active!: { segment: number; handle: FileHandle; committed: number };
  #queue: PendingAppend[] = [];
  #flushing: Promise<void> | undefined;
  #reopen = false;
  #checkpoint!: Position;
  /** The position in checkpoint.json on disk (behind #checkpoint by at most checkpointEveryMs of shipping). */
  #persisted!: Position;
  #persistedAt = Number.NEGATIVE_INFINITY;
  #persisting: Promise<void> = Promise.resolve();
  #persistTimer: NodeJS.Timeout | undefined;
  readonly #checkpointEveryMs: number;
  #depth = 0;
  #lastError: Error | undefined;
  #closed = false;
  readonly #onDamage: NonNullable<OutboxOptions['onDamage']>;
  /** Damaged records set aside in the quarantine folder (counted from its files, so it survives a restart). */
  #quarantined = 0;
  /** The latest commits' readings, for a shipper that keeps up (committed-tail.ts). */
  readonly #tail = new CommittedTail(20_000);

  private constructor(options: OutboxOptions) {
    super();
    this.#dir = options.dir;
    this.#segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024;
    this.#onDamage = options.onDamage ?? (() => undefined);
    this.#checkpointEveryMs = options.checkpointEveryMs ?? 1_000;
  }

  /** Records found damaged and set aside in `outbox/quarantine/`; an operator clears them after a look. */
  get quarantined(): number {
    return this.#quarantined;
  }

  get quarantineDir(): string {
    return join(this.#dir, 'quarantine');
  }

  /** Keeps a damaged line's bytes for an operator (one file per line, named by where it was), and reports it. */
  async #quarantine(segment: number, base: number, line: DamagedLine): Promise<void> {
    const offset = base + line.offset;
    const file = join(this.quarantineDir, `${segment}-${offset}.${line.reason}.bad`);
    await mkdir(this.quarantineDir, { recursive: true, mode: 0o700 });
    const fresh = await writeFile(file, line.bytes, { flag: 'wx', mode: 0o600 }).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'EEXIST') return false;
        throw err;
      },
    );
    if (!fresh) return;
    this.#quarantined += 1;
    this.#onDamage('damaged outbox record set aside', { segment, offset, reason: line.reason, bytes: line.bytes.length, file });
  }

  /** Opens the outbox, cutting off a record torn by a crash, and reports the records not yet stored. */
  static async open(options: OutboxOptions, onRecovered?: (reading: Reading) => void): Promise<Outbox> {
    const outbox = new Outbox(options);
    await outbox.#recover(onRecovered);
    return outbox;
  }

  async #recover(onRecovered?: (reading: Reading) => void): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    let segments = await listSegments(this.#dir);
    this.#quarantined = await readdir(this.quarantineDir).then(
      (files) => files.filter((f) => f.endsWith('.bad')).length,
      () => 0,
    );
    const stored = await readCheckpoint(this.#dir);
    if (stored === 'damaged') {
      this.#onDamage('outbox checkpoint damaged: shipping again from the oldest segment (stores overwrite duplicates)', { segments: segments.length });
    }
    const checkpoint = stored === undefined || stored === 'damaged' ? { segment: segments[0] ?? 1, offset: 0 } : stored;
    for (const s of segments.filter((s) => s < checkpoint.segment)) await unlink(segmentPath(this.#dir, s));
    segments = segments.filter((s) => s >= checkpoint.segment);
    this.#checkpoint = checkpoint;
    this.#persisted = checkpoint;

    for (const segment of segments) {
      const from = segment === checkpoint.segment ? checkpoint.offset : 0;
      const validEnd = await this.#scan(segment, from, (r) => {
        this.#depth += 1;
        onRecovered?.(r);
      });
      const path = segmentPath(this.#dir, segment);
      if ((await stat(path)).size > validEnd) {
        // A torn last line (no newline: the crash came mid-write, before its fdatasync) was never acknowledged.
        // Only the last segment can end in one: earlier ones were sealed after a commit.
        const handle = await open(path, 'r+');
        await handle.truncate(validEnd);
        await handle.datasync();
        await handle.close();
      }
    }
    const last = segments.at(-1);
    if (last === undefined) {
      await this.#startSegment(checkpoint.segment);
    } else {
      const handle = await open(segmentPath(this.#dir, last), 'r+');
      this.#active = { segment: last, handle, committed: (await handle.stat()).size };
    }
  }

  /** Reads the valid records of a segment from an offset; returns where the valid part ends. */
  async #scan(segment: number, from: number, each: (r: Reading) => void): Promise<number> {
    const handle = await open(segmentPath(this.#dir, segment), 'r');
    try {
      let position = from;
      let carry = Buffer.alloc(0);
      for (;;) {
        const buf = Buffer.allocUnsafe(READ_CHUNK);
        const { bytesRead } = await handle.read(buf, 0, READ_CHUNK, position + carry.length);
        if (bytesRead === 0) return position;
        const chunk = Buffer.concat([carry, buf.subarray(0, bytesRead)]);
        const decoded = decodeRecords(chunk);
        decoded.records.forEach(each);
        for (const line of decoded.damaged) await this.#quarantine(segment, position, line);
        position += decoded.consumed;
        carry = chunk.subarray(decoded.consumed);
      }
    } finally {
      await handle.close();
    }
  }

  async #startSegment(segment: number): Promise<void> {
    // Not 'a': Linux ignores the position of a write to a file opened for appending, and commits rewrite from
    // the committed offset after a failure.
    const path = segmentPath(this.#dir, segment);
    const handle = await open(path, 'wx+').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST') return open(path, 'r+');
      throw err;
    });
    await fsyncPath(this.#dir);
    this.#active = { segment, handle, committed: (await handle.stat()).size };
  }

  /** Records not yet acknowledged by the shipper. */
  get depth(): number {
    return this.#depth;
  }

  /** Why the last commit failed, until a commit succeeds again. */
  get lastError(): Error | undefined {
    return this.#lastError;
  }

  /** Resolves once the readings are on disk (fdatasync); rejects if they could not be written. */
  append(readings: readonly Reading[]): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('outbox is closed'));
    if (readings.length === 0) return Promise.resolve();
    const data = readings.length === 1 ? encodeRecord(readings[0]!) : Buffer.concat(readings.map(encodeRecord));
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ data, readings, resolve, reject });
      this.#flushing ??= this.#flushLoop();
    });
  }

  async #flushLoop(): Promise<void> {
    for (;;) {
      // The flag is cleared in the same synchronous step that finds the queue empty, so an append can never
      // slip in between and wait for a loop that has already ended. Every batch's failure is caught below.
      if (this.#queue.length === 0) {
        this.#flushing = undefined;
        return;
      }
      const batch = this.#queue;
      this.#queue = [];
      try {
        const at = { segment: this.#active.segment, offset: this.#active.committed };
        const next = await this.#commit(batch.length === 1 ? batch[0]!.data : Buffer.concat(batch.map((p) => p.data)));
        const readings = batch.length === 1 ? batch[0]!.readings : batch.flatMap((p) => p.readings);
        const count = readings.length;
        this.#tail.push(at, next, readings);
        this.#depth += count;
        this.#lastError = undefined;
        for (const p of batch) p.resolve();
        this.emit('committed', count);
      } catch (err) {
        this.#lastError = err as Error;
        this.#reopen = true;
        for (const p of batch) p.reject(err as Error);
        this.emit('commitFailed', err);
      }
    }
  }

  /** Writes and syncs `data` at the committed offset; answers where the next record will start. */
  async #commit(data: Buffer): Promise<Position> {
    if (this.#reopen) {
      // After a failed write or fsync the kernel may have dropped the dirty pages; start from a fresh handle and
      // rewrite from the last committed offset, which positional writes make safe.
      await this.#active.handle.close().catch(() => undefined);
      this.#active.handle = await open(segmentPath(this.#dir, this.#active.segment), 'r+');
      this.#reopen = false;
    }
    const { handle } = this.#active;
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await handle.write(data, written, data.length - written, this.#active.committed + written);
      written += bytesWritten;
    }
    await handle.datasync();
    this.#active.committed += data.length;
    if (this.#active.committed >= this.#segmentBytes) {
      await this.#active.handle.close();
      await this.#startSegment(this.#active.segment + 1);
    }
    return { segment: this.#active.segment, offset: this.#active.committed };
  }

  /** Reads up to `max` committed records from a position (past damaged lines, which are set aside). */
  async read(from: Position, max: number): Promise<OutboxBatch> {
    const held = this.#tail.take(from, max);
    if (held) return held;
    let position = from;
    for (;;) {
      const sealed = position.segment < this.#active.segment;
      const end = sealed ? (await stat(segmentPath(this.#dir, position.segment))).size : this.#active.committed;
      if (position.offset >= end) {
        if (!sealed) return { records: [], next: position };
        position = { segment: position.segment + 1, offset: 0 };
        continue;
      }
      const length = Math.min(end - position.offset, READ_CHUNK);
      const handle = await open(segmentPath(this.#dir, position.segment), 'r');
      try {
        const buf = Buffer.allocUnsafe(length);
        const { bytesRead } = await handle.read(buf, 0, length, position.offset);
        const decoded = decodeRecords(buf.subarray(0, bytesRead), max);
        for (const line of decoded.damaged) await this.#quarantine(position.segment, position.offset, line);
        const offset = position.offset + decoded.consumed;
        // At the end of a sealed segment, point past it so that acknowledging the batch lets it be deleted.
        const next = sealed && offset >= end ? { segment: position.segment + 1, offset: 0 } : { segment: position.segment, offset };
        // Only damaged lines here: go on past them rather than hand the shipper an empty batch it would wait on.
        if (decoded.records.length === 0 && decoded.consumed > 0) {
          position = next;
          continue;
        }
        return { records: decoded.records, next };
      } finally {
        await handle.close();
      }
    }
  }

  /**
   * The records up to `next` are stored. The position moves at once; the checkpoint file follows within
   * `checkpointEveryMs`, at once when segments fall wholly behind (they are deleted only after it is on disk).
   */
  async ack(next: Position, count: number): Promise<void> {
    this.#checkpoint = next;
    this.#depth = Math.max(0, this.#depth - count);
    const due = next.segment > this.#persisted.segment || performance.now() - this.#persistedAt >= this.#checkpointEveryMs;
    if (due) return this.#persist();
    // A failure here is not lost: the position stays unpersisted, so the next ack is due and awaits the retry,
    // which reaches the shipper.
    this.#persistTimer ??= setTimeout(() => void this.#persist().catch(() => undefined), this.#checkpointEveryMs).unref();
  }

  /** Writes the current position and deletes the segments behind it; one at a time, in order. */
  #persist(): Promise<void> {
    clearTimeout(this.#persistTimer);
    this.#persistTimer = undefined;
    const run = this.#persisting.catch(() => undefined).then(async () => {
      const target = this.#checkpoint;
      if (target.segment === this.#persisted.segment && target.offset === this.#persisted.offset) return;
      this.#persistedAt = performance.now();
      await writeCheckpoint(this.#dir, target);
      for (let s = this.#persisted.segment; s < target.segment; s++) {
        await unlink(segmentPath(this.#dir, s)).catch(() => undefined);
      }
      this.#persisted = target;
    });
    this.#persisting = run;
    return run;
  }

  get checkpoint(): Position {
    return this.#checkpoint;
  }

  /** Waits for queued appends to commit, then closes the file. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#flushing) await this.#flushing;
    await this.#persist();
    await this.#active.handle.close();
  }
}
