import { appendFile, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reading } from '../../test/support/readings.js';
import { tempDir } from '../../test/support/temp.js';
import { Outbox } from './outbox.js';
import { segmentPath } from './segments.js';

describe('Outbox', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await dir.remove();
  });

  const many = (n: number, from = 0) => Array.from({ length: n }, (_, i) => reading({ time: 1_000_000 + from + i, msgId: `m${from + i}` }));

  it('group-commits concurrent appends and reads them back in order', async () => {
    const outbox = await Outbox.open({ dir: dir.path });
    let commits = 0;
    outbox.on('committed', () => commits++);
    await Promise.all(Array.from({ length: 50 }, (_, i) => outbox.append(many(2, i * 2))));
    expect(commits).toBeLessThan(50);
    expect(outbox.depth).toBe(100);
    const batch = await outbox.read(outbox.checkpoint, 1000);
    expect(batch.records.map((r) => r.msgId)).toEqual(many(100).map((r) => r.msgId));
    await outbox.close();
  });

  it('answers appends in order across many commits and segment rolls, and recovers every record', async () => {
    const outbox = await Outbox.open({ dir: dir.path, segmentBytes: 2048 });
    const answered: number[] = [];
    const appends: Promise<void>[] = [];
    // Spread over timer turns so that later appends arrive while earlier commits are in flight, and every tenth
    // waited for, so that the segment (2 KB) fills and rolls between commits several times.
    for (let i = 0; i < 60; i++) {
      appends.push(outbox.append(many(3, i * 3)).then(() => void answered.push(i)));
      if (i % 4 === 3) await new Promise((resolve) => setImmediate(resolve));
      if (i % 10 === 9) await appends[i];
    }
    await Promise.all(appends);
    expect(answered).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(outbox.depth).toBe(180);
    const read: string[] = [];
    let position = outbox.checkpoint;
    for (let guard = 0; guard < 1000 && read.length < 180; guard++) {
      const batch = await outbox.read(position, 1000);
      read.push(...batch.records.map((r) => r.msgId!));
      position = batch.next;
    }
    expect(read).toEqual(many(180).map((r) => r.msgId));
    await outbox.close();
    expect((await readdir(dir.path)).filter((f) => f.endsWith('.log')).length).toBeGreaterThan(2);

    const recovered: string[] = [];
    const reopened = await Outbox.open({ dir: dir.path, segmentBytes: 2048 }, (r) => recovered.push(r.msgId!));
    expect(recovered).toEqual(many(180).map((r) => r.msgId));
    await reopened.close();
  });

  it('keeps what was not acknowledged across a reopen and forgets what was', async () => {
    const first = await Outbox.open({ dir: dir.path });
    await first.append(many(10));
    const batch = await first.read(first.checkpoint, 4);
    await first.ack(batch.next, batch.records.length);
    await first.close();

    const recovered: string[] = [];
    const second = await Outbox.open({ dir: dir.path }, (r) => recovered.push(r.msgId!));
    expect(recovered).toEqual(['m4', 'm5', 'm6', 'm7', 'm8', 'm9']);
    expect(second.depth).toBe(6);
    const rest = await second.read(second.checkpoint, 100);
    expect(rest.records).toHaveLength(6);
    await second.close();
  });

  it('cuts off a record torn by a crash and keeps appending after the last good one', async () => {
    const first = await Outbox.open({ dir: dir.path });
    await first.append(many(3));
    await first.close();
    const path = segmentPath(dir.path, 1);
    const size = (await stat(path)).size;
    // A crash in the middle of a write: half a record, no newline.
    await appendFile(path, '1234abcd {"key":"torn');
    const second = await Outbox.open({ dir: dir.path });
    expect(second.depth).toBe(3);
    expect((await stat(path)).size).toBe(size);
    await second.append(many(1, 3));
    const all = await second.read(second.checkpoint, 100);
    expect(all.records.map((r) => r.msgId)).toEqual(['m0', 'm1', 'm2', 'm3']);
    await second.close();
  });

  it('sets a damaged last line aside (checksum) instead of counting it', async () => {
    const first = await Outbox.open({ dir: dir.path });
    await first.append(many(3));
    await first.close();
    const path = segmentPath(dir.path, 1);
    const size = (await stat(path)).size;
    await truncate(path, size - 5);
    await appendFile(path, 'zzzz\n');
    const second = await Outbox.open({ dir: dir.path });
    expect(second.depth).toBe(2);
    expect(second.quarantined).toBe(1);
    await second.close();
  });

  it('loses no acknowledged record after one flipped byte: the damaged record is set aside, the rest recovered', async () => {
    const first = await Outbox.open({ dir: dir.path });
    await first.append(many(1000));
    await first.close();
    const path = segmentPath(dir.path, 1);
    const bytes = await readFile(path);
    const at = Math.floor(bytes.length / 3);
    bytes[at] = bytes[at]! ^ 0x20; // one bit, a third of the way in
    await writeFile(path, bytes);
    const damage: string[] = [];
    const recovered: string[] = [];
    const second = await Outbox.open({ dir: dir.path, onDamage: (what) => damage.push(what) }, (r) => recovered.push(r.msgId!));
    expect(recovered).toHaveLength(999);
    expect(second.quarantined).toBe(1);
    expect(damage).toEqual(['damaged outbox record set aside']);
    expect(await readdir(second.quarantineDir)).toEqual([expect.stringMatching(/^1-\d+\.checksum\.bad$/)]);
    // The shipper reads past it, and the segment was not cut.
    const all = await second.read(second.checkpoint, 5000);
    expect(all.records).toHaveLength(999);
    expect((await stat(path)).size).toBe(bytes.length);
    await second.close();
    // Reopened again: the same damage is not counted twice.
    const third = await Outbox.open({ dir: dir.path });
    expect(third.quarantined).toBe(1);
    await third.close();
  });

  it('writes the checkpoint at most every checkpointEveryMs: a crash ships again what came after it, close persists all', async () => {
    const first = await Outbox.open({ dir: dir.path, checkpointEveryMs: 60_000 });
    await first.append(many(10));
    let position = first.checkpoint;
    for (let i = 0; i < 3; i++) {
      const batch = await first.read(position, 2);
      await first.ack(batch.next, batch.records.length);
      position = batch.next;
    }
    expect(first.depth).toBe(4);
    // Only the first ack reached the file: a process killed now resumes from m2, and the stores overwrite m2-m5.
    const afterCrash: string[] = [];
    const crashed = await Outbox.open({ dir: dir.path }, (r) => afterCrash.push(r.msgId!));
    expect(afterCrash).toEqual(['m2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9']);
    await crashed.close();
    await first.close();
    const recovered: string[] = [];
    const reopened = await Outbox.open({ dir: dir.path }, (r) => recovered.push(r.msgId!));
    expect(recovered).toEqual(['m6', 'm7', 'm8', 'm9']);
    await reopened.close();
  });

  it('sets aside a record with a valid checksum but no JSON, and recovers from a damaged checkpoint', async () => {
    const first = await Outbox.open({ dir: dir.path });
    await first.append(many(4));
    const batch = await first.read(first.checkpoint, 2);
    await first.ack(batch.next, 2);
    await first.close();
    const body = Buffer.from('{"not json', 'utf8');
    await appendFile(segmentPath(dir.path, 1), Buffer.concat([Buffer.from(`${crc32(body).toString(16).padStart(8, '0')} `), body, Buffer.from('\n')]));
    await writeFile(join(dir.path, 'checkpoint.json'), '{"segment":1,"off');
    const damage: string[] = [];
    const recovered: string[] = [];
    const second = await Outbox.open({ dir: dir.path, onDamage: (what) => damage.push(what) }, (r) => recovered.push(r.msgId!));
    // Without a checkpoint, everything is shipped again (the stores overwrite duplicates): nothing is lost.
    expect(recovered).toEqual(['m0', 'm1', 'm2', 'm3']);
    expect(damage).toEqual([expect.stringMatching(/checkpoint damaged/), 'damaged outbox record set aside']);
    expect(second.quarantined).toBe(1);
    await second.close();
  });

  it('rotates segments and deletes those wholly stored', async () => {
    const outbox = await Outbox.open({ dir: dir.path, segmentBytes: 2_000 });
    for (let i = 0; i < 10; i++) await outbox.append(many(5, i * 5));
    const segments = (await readdir(dir.path)).filter((n) => n.endsWith('.log'));
    expect(segments.length).toBeGreaterThan(3);
    let position = outbox.checkpoint;
    const seen: string[] = [];
    for (let guard = 0; guard < 100; guard++) {
      const batch = await outbox.read(position, 7);
      if (batch.records.length === 0) break;
      seen.push(...batch.records.map((r) => r.msgId!));
      await outbox.ack(batch.next, batch.records.length);
      position = batch.next;
    }
    expect(seen).toEqual(many(50).map((r) => r.msgId));
    expect(outbox.depth).toBe(0);
    const left = (await readdir(dir.path)).filter((n) => n.endsWith('.log'));
    expect(left).toHaveLength(1);
    await outbox.close();
  });

  it('refuses appends once closed', async () => {
    const outbox = await Outbox.open({ dir: dir.path });
    await outbox.close();
    await expect(outbox.append(many(1))).rejects.toThrow(/closed/);
  });
});
