import { createHash } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillDisk, smallTmpfs } from './support/fill-disk.js';
import { waitFor } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

/**
 * The HTTP 200 of a Nightscout upload is its PUBACK: sent only once the readings are in the outbox on disk. With
 * the disk full, the upload is answered 503 (nothing kept, the app uploads again), and what was answered 200 is
 * stored. Mounting the small tmpfs needs root; where the sandbox forbids it the test says so and is skipped.
 */
describe('Nightscout upload with a full disk', () => {
  let disk: Awaited<ReturnType<typeof smallTmpfs>> | undefined;
  let t: TestVigil | undefined;
  beforeAll(async () => {
    disk = await smallTmpfs('Nightscout disk-full test');
  });
  afterAll(async () => {
    await t?.stop().catch(() => undefined);
    await disk?.remove();
  });

  it('answers 503 VIGIL_ERR_OUTBOX_UNAVAILABLE while the outbox cannot be written, and 200 only for what it stored', async (ctx) => {
    if (!disk?.mounted) return ctx.skip();
    t = await startTestVigil({ VIGIL_STORE_RETRY_MAX_MS: '500', VIGIL_DEVICE_RATE: '1000', VIGIL_DEVICE_BURST: '1000' }, disk.path);
    const dev = await t.provision();
    const apiSecret = createHash('sha1').update(dev.secret).digest('hex');
    const base = Date.now() - 3_600_000;
    const upload = (i: number) =>
      fetch(`${t!.httpUrl}/ns/${dev.deviceId}/api/v1/entries`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'api-secret': apiSecret },
        body: JSON.stringify([{ type: 'sgv', sgv: 100 + (i % 50), date: base + i * 1000, device: 'xDrip-DexcomG6', direction: 'Flat' }]),
      });

    const filler = await fillDisk(disk.path);
    // The last page of the outbox segment may still have room: upload until a commit fails.
    const answeredOk: number[] = [];
    let refused: { status: number; body: { code: string } } | undefined;
    let last = 0;
    for (let i = 0; i < 300 && !refused; i++) {
      last = i;
      const response = await upload(i);
      if (response.status === 200) answeredOk.push(i);
      else refused = { status: response.status, body: (await response.json()) as { code: string } };
    }
    expect(refused).toEqual({ status: 503, body: expect.objectContaining({ code: 'VIGIL_ERR_OUTBOX_UNAVAILABLE' }) });

    // Space is back: the app uploads the refused entry again, and it is taken.
    await unlink(filler);
    await waitFor(async () => (await upload(last)).status === 200, { what: 'the refused upload taken once space is back', timeoutMs: 30_000 });
    answeredOk.push(last);
    const stored = await waitFor(async () => {
      const points = await t!.vigil.ingest.store.queryRaw({ patientId: dev.patientId, type: 'glucose', from: 0, to: Date.now() });
      return points.length === answeredOk.length && points;
    }, { what: 'every reading answered 200 stored, once' });
    expect(stored.map((p) => p.time)).toEqual(answeredOk.map((i) => base + i * 1000));
  });
});
