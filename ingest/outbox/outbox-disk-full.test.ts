import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fillDisk, smallTmpfs } from '../../test/support/fill-disk.js';
import { reading } from '../../test/support/readings.js';
import { Outbox } from './outbox.js';

/**
 * A commit refused by a full disk (a short write, then ENOSPC) leaves part of its records in the segment. They
 * were never acknowledged: after the disk has room again, neither a restart nor a later commit may bring them
 * back as readings, or report them as damage. Mounting a tmpfs needs root; elsewhere the test skips itself.
 */
describe('Outbox on a full disk', () => {
  let disk: Awaited<ReturnType<typeof smallTmpfs>>;
  beforeEach(async () => {
    disk = await smallTmpfs('outbox disk-full test');
  });
  afterEach(async () => {
    await disk.remove();
  });

  const many = (n: number, from: number) => Array.from({ length: n }, (_, i) => reading({ time: 1_000_000 + from + i, msgId: `m${from + i}` }));

  it('keeps no record of a refused commit after the disk has room again, across a restart', async (ctx) => {
    if (!disk.mounted) return ctx.skip();
    const dir = join(disk.path, 'outbox');
    const damage: string[] = [];
    const first = await Outbox.open({ dir, onDamage: (what) => damage.push(what) });
    await first.append(many(1, 0));
    const filler = await fillDisk(disk.path);
    // Large enough to need a page the full disk cannot give: part of it lands in the segment's last page.
    const refused = first.append(many(400, 1000));
    await expect(refused).rejects.toThrow(/ENOSPC/);
    await unlink(filler);
    // One small record after the refused batch, rewritten where that batch began.
    await first.append(many(1, 1));
    await first.close();

    const recovered: string[] = [];
    const second = await Outbox.open({ dir, onDamage: (what) => damage.push(what) }, (r) => recovered.push(r.msgId!));
    expect(recovered).toEqual(['m0', 'm1']);
    expect(second.quarantined).toBe(0);
    expect(damage).toEqual([]);
    await second.close();
  });

  it('keeps no record of a refused commit when it is closed right after it', async (ctx) => {
    if (!disk.mounted) return ctx.skip();
    const dir = join(disk.path, 'outbox');
    const damage: string[] = [];
    const first = await Outbox.open({ dir, onDamage: (what) => damage.push(what) });
    await first.append(many(1, 0));
    const filler = await fillDisk(disk.path);
    await expect(first.append(many(400, 1000))).rejects.toThrow(/ENOSPC/);
    await unlink(filler);
    // An operator restarts Vigil once the disk has room: nothing was appended after the refused batch.
    await first.close();

    const recovered: string[] = [];
    const second = await Outbox.open({ dir, onDamage: (what) => damage.push(what) }, (r) => recovered.push(r.msgId!));
    expect(recovered).toEqual(['m0']);
    expect(second.quarantined).toBe(0);
    expect(damage).toEqual([]);
    await second.close();
  });

  it('refuses every append that waited for the same refused commit, and the commit syncing ahead of them', async (ctx) => {
    if (!disk.mounted) return ctx.skip();
    const dir = join(disk.path, 'outbox');
    const first = await Outbox.open({ dir });
    await first.append(many(1, 0));
    const filler = await fillDisk(disk.path);
    // A commit starts at the end of the turn: the next two appends, a turn later, queue behind the first's commit
    // and share the next one (one promise).
    const ahead = first.append(many(400, 1000));
    // Refused within the turn waited for: handled now, and its outcome read with the others below.
    ahead.catch(() => undefined);
    await new Promise((resolve) => setImmediate(resolve));
    const queued = [first.append(many(200, 2000)), first.append(many(200, 3000))];
    const outcomes = await Promise.allSettled([ahead, ...queued]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    await unlink(filler);
    await first.append(many(1, 1));
    await first.close();

    const recovered: string[] = [];
    const second = await Outbox.open({ dir }, (r) => recovered.push(r.msgId!));
    expect(recovered).toEqual(['m0', 'm1']);
    await second.close();
  });
});
