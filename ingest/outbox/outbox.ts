import { EventEmitter } from 'node:events';
import { writeSync } from 'node:fs';
import { mkdir, open, readdir, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Reading } from '../../domain/index.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { CommittedTail } from './committed-tail.js';
import { decodeRecords, encodeRecords, type DamagedLine } from './record-codec.js';
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

/**
 * The appends waiting for one group commit, and the one promise they all share. One per commit, not one per
 * append: the intake's duplicate window keeps the promise of each recent reading's commit for as long as it
 * remembers the key (100,000 keys and more), so a promise and its two resolving functions per message lived
 * into the old generation. Paced at 12,000 readings/s from 100 devices, three alternating pairs: scavenge
 * pauses of 484-549 ms in seven seconds against 559-630 ms, Vigil's CPU 7.8-8.0 s against 8.0-8.2 s.
 */
class GroupCommit {
  /**
   * The readings of its appends, in order. Encoded when the commit is written, not when appended: a record
   * waiting for the commit ahead of it lived long enough, under load, to be copied into the old generation
   * (12,000 readings/s from 100 devices: promoted 1.09-1.10 KB a reading before, 0.89-0.91 KB after).
   */
  readonly readings: Reading[] = [];
  readonly durable: Promise<void>;
  resolve!: () => void;
  reject!: (err: Error) => void;

  constructor() {
    this.durable = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

/** A batch written to the active segment, its fdatasync issued. */
interface Commit {
  readonly batch: GroupCommit;
  /** Where its bytes start, and where the next record starts. */
  readonly at: Position;
  readonly next: Position;
  /** Settles (never rejects) when its write failed or its fdatasync returned; then `settled` and `error` say how. */
  done: Promise<void>;
  settled: boolean;
  error: Error | undefined;
}

const READ_CHUNK = 4 * 1024 * 1024;

/**
 * Commits syncing at once. Two (the next batch written and its fdatasync issued while the previous one syncs)
 * were measured against one on 2026-11-29 (`npm run bench:throughput`, the same machine, alternating runs): two
 * cost about 5 µs more CPU per reading (twice the writes, syncs and wake-ups for the same readings) and lowered
 * neither the PUBACK p99 at 100 devices nor the rate at 10. The loop keeps the general form, ordered answers and
 * failure handling for a disk where overlapping syncs pay (measure before raising it).
 */
const SYNCS_IN_FLIGHT = 1;

/**
 * Resolves once the event loop has run every callback of its current I/O phase (`setImmediate`: the check phase
 * follows the poll phase), so that a commit takes every append of that turn: the readings of every socket read
 * in it. Started at the first append instead, a commit took one device's readings, and every other device's
 * waited for its fdatasync and the next turn: 10 devices at full rate, three alternating pairs, 49,000-52,000
 * readings/s against 44,000-47,000, and fewer commits (docs/benchmarks.md, "A tenth look").
 */
function endOfThisTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * The durable outbox between acknowledgement and storage: an append-only log of segment files.
 *
 * Appends are group-committed: while a commit is in flight, new appends queue up and share the next one, so
 * many readings cost one fsync and a device's PUBACK waits only for the commit that holds its readings
 * (SYNCS_IN_FLIGHT commits sync at once, answered in order). The shipper reads committed records from the
 * checkpoint on and acknowledges what the store took; segments wholly behind the checkpoint are deleted.
 */
export class Outbox extends EventEmitter {
  readonly #dir: string;
  readonly #segmentBytes: number;
  /** The segment being written: `written` bytes are in it, the first `committed` of them synced and answered. */
  #active!: { segment: number; handle: FileHandle; written: number; committed: number };
  /** The appends the next commit will take (undefined: none yet). */
  #queue: GroupCommit | undefined;
  #flushing: Promise<void> | undefined;
  /** Commits written and syncing, oldest first. */
  #syncing: Commit[] = [];
  /** Wakes a flush loop waiting on a sync when an append arrives. */
  #wake: (() => void) | undefined;
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
      const size = (await handle.stat()).size;
      this.#active = { segment: last, handle, written: size, committed: size };
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
    const size = (await handle.stat()).size;
    this.#active = { segment, handle, written: size, committed: size };
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
    const group = (this.#queue ??= new GroupCommit());
    for (const r of readings) group.readings.push(r);
    if (this.#flushing) this.#wake?.();
    else this.#flushing = this.#flushLoop();
    return group.durable;
  }

  /**
   * Starts a commit for what has queued whenever fewer than SYNCS_IN_FLIGHT are syncing, and settles commits in
   * the order they were written. The flag is cleared in the same synchronous step that finds nothing queued and
   * nothing syncing, so an append can never slip in between and wait for a loop that has already ended.
   */
  async #flushLoop(): Promise<void> {
    for (;;) {
      if (this.#queue && this.#syncing.length < SYNCS_IN_FLIGHT) {
        await endOfThisTurn();
        const batch = this.#queue;
        this.#queue = undefined;
        if (this.#needsFreshHandle()) {
          // A new segment, or a fresh handle after a failure, only once every commit on the old one has settled.
          while (this.#syncing.length > 0) await this.#settleOldest();
          const failed = await this.#freshHandle().then(
            () => undefined,
            (err: Error) => err,
          );
          if (failed) {
            this.#fail([batch], failed);
            continue;
          }
        }
        this.#syncing.push(await this.#write(batch));
        continue;
      }
      const oldest = this.#syncing[0];
      if (!oldest) {
        this.#flushing = undefined;
        return;
      }
      if (this.#queue) {
        await this.#settleOldest();
        continue;
      }
      // Nothing queued: settle the oldest commit, or start the next one as soon as an append arrives.
      const arrived = new Promise<void>((wake) => (this.#wake = wake));
      await Promise.race([oldest.done, arrived]);
      this.#wake = undefined;
      if (oldest.settled) await this.#settleOldest();
    }
  }

  #needsFreshHandle(): boolean {
    return this.#reopen || this.#active.written >= this.#segmentBytes;
  }

  async #freshHandle(): Promise<void> {
    if (this.#reopen) await this.#reopenAtCommitted();
    if (this.#active.written >= this.#segmentBytes) {
      await this.#active.handle.close();
      await this.#startSegment(this.#active.segment + 1);
    }
  }

  /**
   * After a failed write or fsync the kernel may have dropped the dirty pages: a fresh handle, from which commits
   * rewrite at the last committed offset (positional writes make that safe). First the segment is cut back to
   * that offset: the failed commits left bytes past it (a short write before ENOSPC, or a whole later commit), a
   * shorter rewrite or a shutdown would leave their records behind, and a restart would ship those refused
   * readings, with a torn one at the seam reported as damage. Shrinking needs no space; the sync makes the cut last.
   */
  async #reopenAtCommitted(): Promise<void> {
    await this.#active.handle.close().catch(() => undefined);
    this.#active.handle = await open(segmentPath(this.#dir, this.#active.segment), 'r+');
    await this.#active.handle.truncate(this.#active.committed);
    await this.#active.handle.datasync();
    this.#active.written = this.#active.committed;
    this.#reopen = false;
  }

  /**
   * Writes a batch after the last one written and issues its fdatasync without waiting for it. The next batch
   * is written only after this write has completed, so a later fdatasync covers this batch's bytes too: the
   * file never has a synced record after an unsynced hole.
   *
   * The write itself is synchronous, on this thread: it copies the batch into the page cache (tens of µs for a
   * commit of hundreds of readings), and through the thread pool it cost a round trip, the batch's fdatasync
   * issued only on the main thread's next turn, which under load came milliseconds later, every PUBACK of the
   * commit behind it (docs/benchmarks.md, "A tenth look"). The fdatasync, which waits for the disk, stays in the
   * thread pool. SQLite's state writes run on this thread the same way.
   */
  async #write(batch: GroupCommit): Promise<Commit> {
    const { segment, handle } = this.#active;
    const at = { segment, offset: this.#active.written };
    let data: Buffer;
    try {
      data = encodeRecords(batch.readings);
    } catch (err) {
      // Not reachable with validated readings; refused like a failed write rather than left unanswered.
      return { batch, at, next: at, settled: true, error: err as Error, done: Promise.resolve() };
    }
    const next = { segment, offset: at.offset + data.length };
    const commit: Commit = { batch, at, next, settled: false, error: undefined, done: Promise.resolve() };
    const settle = (err?: Error) => {
      commit.settled = true;
      commit.error = err;
    };
    try {
      let written = 0;
      while (written < data.length) {
        const bytesWritten = writeSync(handle.fd, data, written, data.length - written, at.offset + written);
        written += bytesWritten;
      }
    } catch (err) {
      // Nothing more is written on this handle until the commits before it have settled and it is reopened.
      this.#reopen = true;
      settle(err as Error);
      return commit;
    }
    this.#active.written = next.offset;
    commit.done = handle.datasync().then(() => settle(), settle);
    return commit;
  }

  /** Waits for the oldest commit's fdatasync and answers its appends; a failure fails every commit after it too. */
  async #settleOldest(): Promise<void> {
    const commit = this.#syncing.shift();
    if (!commit) return;
    await commit.done;
    if (commit.error === undefined) {
      this.#active.committed = commit.next.offset;
      const { readings } = commit.batch;
      this.#tail.push(commit.at, commit.next, readings);
      this.#depth += readings.length;
      this.#lastError = undefined;
      commit.batch.resolve();
      this.emit('committed', readings.length);
      return;
    }
    // Written after the failed one, on pages that may be gone: not durable, whatever their own fdatasync said.
    const later = this.#syncing.splice(0);
    await Promise.all(later.map((c) => c.done));
    this.#fail([commit.batch, ...later.map((c) => c.batch)], commit.error);
  }

  #fail(batches: GroupCommit[], err: Error): void {
    this.#lastError = err;
    this.#reopen = true;
    for (const batch of batches) batch.reject(err);
    this.emit('commitFailed', err);
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

  /**
   * Writes the position the shipper has reached, now: at shutdown the shipper drains after the outbox has
   * closed, and a position left in memory would make the next start ship those readings again.
   */
  persistCheckpoint(): Promise<void> {
    return this.#persist();
  }

  /** Waits for queued appends to commit, then closes the file. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#flushing) await this.#flushing;
    // A failed last commit leaves its bytes until the next append cuts them: cut them now (best effort: a crash
    // before either still leaves them, as a crash mid-write leaves a torn record).
    if (this.#reopen) await this.#reopenAtCommitted().catch(() => undefined);
    await this.#persist();
    await this.#active.handle.close();
  }
}
