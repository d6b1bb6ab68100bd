import { execFile } from 'node:child_process';
import { unlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillDisk, smallTmpfs } from './support/fill-disk.js';
import { waitFor } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';
import { CLI } from './support/vigil-process.js';

const exec = promisify(execFile);

/**
 * A data dir on a small tmpfs that is then filled: the outbox cannot be written, so Vigil must stop
 * acknowledging (the device keeps its reading), say why, and recover by itself when space returns.
 * Mounting needs root; where the sandbox forbids it the test says so and is skipped.
 */
describe('disk full', () => {
  let mountPoint: string;
  let mounted = false;
  let t: TestVigil | undefined;

  let disk: Awaited<ReturnType<typeof smallTmpfs>> | undefined;

  beforeAll(async () => {
    disk = await smallTmpfs('disk-full test');
    mountPoint = disk.path;
    mounted = disk.mounted;
  });
  afterAll(async () => {
    await t?.stop().catch(() => undefined);
    await disk?.remove();
  });

  it('stops acknowledging while the outbox cannot be written, reports why, and recovers by itself', async (ctx) => {
    if (!mounted) return ctx.skip();
    t = await startTestVigil({ VIGIL_STORE_RETRY_MAX_MS: '500' }, mountPoint);
    const dev = await t.provision();
    const client = await t.connectDevice(dev, { reconnectPeriod: 200 });
    client.on('error', () => undefined);
    const topic = `rpm/v1/devices/${dev.deviceId}/readings`;
    await client.publishAsync(topic, JSON.stringify({ type: 'weight', time: new Date().toISOString(), value: 80, unit: 'kg', id: 'w0' }), { qos: 1 });

    const filler = await fillDisk(mountPoint);
    // The last page of the outbox segment may still have room: keep publishing until a commit fails.
    const acked = new Set<string>();
    const published: string[] = [];
    let ready: { checks: { outbox: { writable: boolean; error?: string } } } | undefined;
    for (let i = 1; i <= 200 && !ready; i++) {
      const id = `w${i}`;
      published.push(id);
      client.publish(topic, JSON.stringify({ type: 'weight', time: new Date(Date.now() - 1000 * (200 - i)).toISOString(), value: 80, unit: 'kg', id }), { qos: 1 }, (err) => {
        if (!err) acked.add(id);
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const response = await fetch(`${t.httpUrl}/readyz`);
      if (response.status === 503) ready = (await response.json()) as typeof ready;
    }
    expect(ready, '/readyz should report the outbox unwritable').toBeDefined();
    expect(ready!.checks.outbox.writable).toBe(false);
    expect(ready!.checks.outbox.error).toMatch(/ENOSPC/);
    const metrics = await (await fetch(`${t.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/^vigil_outbox_writable 0$/m);
    expect(metrics).toMatch(/^vigil_outbox_commit_failures_total [1-9]/m);
    expect(acked.size).toBeLessThan(published.length);

    await unlink(filler);
    await waitFor(() => acked.size === published.length, { what: 'every reading acknowledged once space is back (resent by the device)', timeoutMs: 30_000 });
    await waitFor(async () => (await fetch(`${t!.httpUrl}/readyz`)).status === 200, { what: '/readyz to recover' });
    const stored = await waitFor(async () => {
      const points = await t!.vigil.ingest.store.queryRaw({ patientId: dev.patientId, type: 'weight', from: 0, to: Date.now() + 1000 });
      return points.length === published.length + 1 && points;
    }, { what: 'every reading stored, once' });
    expect(stored).toHaveLength(published.length + 1);
  });

  it('refuses to start on a read-only data dir, naming it and why', async (ctx) => {
    if (!mounted) return ctx.skip();
    await t?.stop();
    t = undefined;
    await exec('mount', ['-o', 'remount,ro', mountPoint]);
    try {
      const result = await exec(process.execPath, [CLI, 'start'], {
        env: { ...process.env, VIGIL_DATA_DIR: mountPoint, VIGIL_MQTT_PORT: '0', VIGIL_HTTP_PORT: '0' },
        timeout: 20_000,
      }).then(
        () => ({ code: 0, stderr: '' }),
        (err: { code: number; stderr: string }) => err,
      );
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`VIGIL_DATA_DIR: cannot write to ${mountPoint} (it is on a read-only file system)`);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    } finally {
      await exec('mount', ['-o', 'remount,rw', mountPoint]);
    }
  });
});
