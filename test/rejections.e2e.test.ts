import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openState } from '../app/state.js';
import { AuditLog } from '../state/index.js';
import { waitFor } from './support/temp.js';
import { CLI } from './support/vigil-process.js';
import { listenErrors, startTestVigil, type TestVigil } from './support/vigil.js';
import { logInto } from './support/log-lines.js';

const exec = promisify(execFile);
const topic = (deviceId: string, kind: string) => `rpm/v1/devices/${deviceId}/${kind}`;
const MIN = 60_000;

async function readyz(t: TestVigil) {
  return (await (await fetch(`${t.httpUrl}/readyz`)).json()) as { status: string; checks: Record<string, Record<string, unknown>> };
}

describe('issue 13, item 6: one rejection record and one errors message per publish, one log line per device every 10 s', () => {
  let t: TestVigil;
  const lines: Record<string, unknown>[] = [];
  beforeAll(async () => {
    const log = logInto(lines);
    t = await startTestVigil({ VIGIL_LOG_LEVEL: 'info' }, undefined, { log });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('a publish of 1,000 invalid items', async () => {
    const dev = await t.provision();
    const client = await t.connectDevice(dev);
    const errors = await listenErrors(client, dev.deviceId);
    const items = Array.from({ length: 1000 }, (_, i) => ({ type: 'heart_rate', time: new Date().toISOString(), value: 9_999, id: `hr-${i}` }));
    await client.publishAsync(topic(dev.deviceId, 'readings'), JSON.stringify(items), { qos: 1 });
    await client.publishAsync(topic(dev.deviceId, 'readings'), JSON.stringify({ type: 'heart_rate', time: new Date().toISOString(), value: 0, id: 'marker' }), { qos: 1 });
    await waitFor(() => errors.some((e) => e.ref === 'marker'), { what: 'the marker on the errors topic' });
    expect(errors.map((e) => e.ref)).toEqual(['hr-0', 'marker']);
    const rows = t.vigil.ingest.rejections.recent({ deviceId: dev.deviceId });
    expect(rows.map((r) => [r.ref, r.rejected])).toEqual([['marker', 1], ['hr-0', 1000]]);
    expect(rows[1]!.codes).toEqual({ VIGIL_ERR_OUT_OF_RANGE: 1000 });
    expect(rows[1]!.examples).toHaveLength(20);
    // The second publish's line is folded, within 10 s of the first: its count comes in the line that ends the
    // device's interval (the test below).
    const logged = lines.filter((l) => l.deviceId === dev.deviceId && l.level === 30);
    expect(logged.map((l) => [l.msg, l.rejected, l.count])).toEqual([['readings rejected', 1000, 1]]);
  });

  it('a device whose every publish is rejected: each recorded and answered, one log line per 10 s counting them, the folded ones when the interval ends', async () => {
    const [noisy, other] = [await t.provision(), await t.provision()];
    const [noisyClient, otherClient] = [await t.connectDevice(noisy), await t.connectDevice(other)];
    const errors = await listenErrors(noisyClient, noisy.deviceId);
    const rejectedPublish = (client: MqttClient, deviceId: string, ref: string) =>
      client.publishAsync(topic(deviceId, 'readings'), JSON.stringify({ type: 'heart_rate', time: new Date().toISOString(), value: 0, id: ref }), { qos: 1 });
    const logged = (deviceId: string) => lines.filter((l) => l.deviceId === deviceId && l.msg === 'readings rejected');
    const refs = (n: number) => Array.from({ length: n }, (_, i) => `n-${i}`);

    for (const ref of refs(30)) await rejectedPublish(noisyClient, noisy.deviceId, ref);
    await rejectedPublish(otherClient, other.deviceId, 'o-0');
    await waitFor(() => errors.length === 30, { what: '30 errors messages' });
    expect(errors.map((e) => e.ref)).toEqual(refs(30));
    expect(t.vigil.ingest.rejections.recent({ deviceId: noisy.deviceId }).map((r) => r.ref).reverse()).toEqual(refs(30));
    expect(logged(noisy.deviceId).map((l) => l.count)).toEqual([1]);
    // Another device's line is not held back by the noisy one's.
    expect(logged(other.deviceId).map((l) => l.count)).toEqual([1]);

    // The device has stopped: when its interval ends, a line counts the 29 publishes folded since, no later one
    // needed (it is the line of the last of them).
    await waitFor(() => logged(noisy.deviceId).length === 2, { timeoutMs: 20_000, what: 'the line ending the interval' });
    const [first, last] = logged(noisy.deviceId);
    expect((last!.time as number) - (first!.time as number)).toBeGreaterThanOrEqual(10_000);
    // Ids, codes and counts: no reading value.
    const { time: _time, ...fields } = last!;
    expect(fields).toEqual({ level: 30, service: 'vigil', component: 'gateway', deviceId: noisy.deviceId, rejected: 1, codes: { VIGIL_ERR_OUT_OF_RANGE: 1 }, count: 29, msg: 'readings rejected' });

    // That line opened the device's next interval: a publish now is recorded and answered, and folded.
    await rejectedPublish(noisyClient, noisy.deviceId, 'n-30');
    await waitFor(() => errors.length === 31, { what: 'the 31st errors message' });
    expect(t.vigil.ingest.rejections.recent({ deviceId: noisy.deviceId })).toHaveLength(31);
    expect(logged(noisy.deviceId)).toHaveLength(2);
  });
});

describe('a reading nested 20,000 levels deep', () => {
  let t: TestVigil;
  beforeAll(async () => {
    t = await startTestVigil();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('is refused whole with VIGIL_ERR_TOO_DEEP, and the rejections of another device flushed with it are recorded', async () => {
    const unrecorded = async () => {
      const text = await (await fetch(`${t.httpUrl}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith('vigil_rejections_unrecorded_total'));
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
    };
    const before = await unrecorded();
    const [a, b] = [await t.provision(), await t.provision()];
    const [clientA, clientB] = [await t.connectDevice(a), await t.connectDevice(b)];
    const [errorsA, errorsB] = [await listenErrors(clientA, a.deviceId), await listenErrors(clientB, b.deviceId)];
    const time = new Date().toISOString();
    const valid = JSON.stringify({ type: 'heart_rate', time, value: 70, id: 'ok' });
    // Built as text: JSON.stringify itself cannot write what JSON.parse reads back from it.
    const deep = `[${valid},{"type":"heart_rate","time":"${time}","value":${'['.repeat(20_000)}${']'.repeat(20_000)}}]`;
    // At the same moment, so that both publishes' rejections are flushed to the rejection log together.
    await Promise.all([
      clientA.publishAsync(topic(a.deviceId, 'readings'), deep, { qos: 1 }),
      clientB.publishAsync(topic(b.deviceId, 'readings'), JSON.stringify({ type: 'heart_rate', time, value: 999, id: 'bad' }), { qos: 1 }),
    ]);
    await waitFor(() => errorsA.length === 1 && errorsB.length === 1, { what: 'both devices told of their rejections' });
    expect(errorsA[0]).toMatchObject({ ref: '*', code: 'VIGIL_ERR_TOO_DEEP' });
    expect(errorsB[0]).toMatchObject({ ref: 'bad', code: 'VIGIL_ERR_OUT_OF_RANGE' });
    expect(t.vigil.ingest.rejections.recent({ deviceId: b.deviceId }).map((r) => [r.ref, r.code])).toEqual([['bad', 'VIGIL_ERR_OUT_OF_RANGE']]);
    expect(t.vigil.ingest.rejections.recent({ deviceId: a.deviceId }).map((r) => [r.ref, r.code, r.payloadBytes])).toEqual([['*', 'VIGIL_ERR_TOO_DEEP', Buffer.byteLength(deep)]]);
    expect(await unrecorded()).toBe(before);
    expect(clientA.connected && clientB.connected).toBe(true);
  });
});

describe('issue 13, item 9: a slow server clock', () => {
  let t: TestVigil;
  // The clock intake judges reading times by: 10 minutes slow until the test sets it right.
  let slowBy = 10 * MIN;
  beforeAll(async () => {
    t = await startTestVigil({ VIGIL_CLOCK_SKEW_MINUTES: '2', VIGIL_CLOCK_SKEW_MIN_DEVICES: '3' }, undefined, { now: () => Date.now() - slowBy });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('keeps the payloads of readings refused as FUTURE_TIME, says so in /readyz, and `vigil rejections replay` stores them exactly once', async () => {
    expect(existsSync(CLI), 'run "npm run build" first').toBe(true);
    expect((await readyz(t)).checks.clock).toMatchObject({ ok: true, devicesAhead: 0 });
    const devices = await Promise.all([1, 2, 3].map(() => t.provision()));
    const measuredAt = Date.now();
    for (const [i, dev] of devices.entries()) {
      const client = await t.connectDevice(dev);
      const batch = [0, 1].map((k) => ({ type: 'spo2', time: new Date(measuredAt - k * 1000).toISOString(), value: 95 + k, id: `s${i}-${k}` }));
      await client.publishAsync(topic(dev.deviceId, 'readings'), JSON.stringify(batch), { qos: 1 });
      await client.endAsync();
    }
    const rows = devices.map((d) => t.vigil.ingest.rejections.recent({ deviceId: d.deviceId }));
    for (const r of rows) expect(r.map((x) => [x.code, x.rejected, x.payloadNote])).toEqual([['VIGIL_ERR_FUTURE_TIME', 2, null]]);
    const storedCount = async () => {
      let n = 0;
      for (const d of devices) n += (await t.vigil.ingest.store.queryRaw({ patientId: d.patientId, type: 'spo2', from: 0, to: Date.now() + 3_600_000 })).length;
      return n;
    };
    expect(await storedCount()).toBe(0);

    // Three devices, all of those heard from, are about 10 minutes ahead: the server's clock is the suspect.
    const ready = await readyz(t);
    expect(ready.status).toBe('degraded');
    expect(ready.checks.clock).toMatchObject({ ok: false, degraded: true, devicesAhead: 3, devicesSeen: 3 });
    expect(Math.abs((ready.checks.clock!.estimatedSkewSeconds as number) - 600)).toBeLessThan(30);
    const metrics = await (await fetch(`${t.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/^vigil_clock_skew_devices_ahead 3$/m);

    // The clock is set right; the operator replays what was refused as FUTURE_TIME.
    slowBy = 0;
    const env = { ...process.env, VIGIL_DATA_DIR: t.dataDir };
    const replay = (args: string[]) => exec(process.execPath, [CLI, 'rejections', 'replay', ...args, '--by', 'Ops on call', '--wait', '20s'], { env, timeout: 30_000 });
    const first = await replay(['--code', 'VIGIL_ERR_FUTURE_TIME', '--since', '1h']);
    expect(first.stdout).toContain('3 rejected publishes queued for replay');
    expect(first.stdout).toMatch(/2 accepted, 0 duplicate, 0 rejected/);
    await waitFor(async () => (await storedCount()) === 6, { what: 'the replayed readings stored' });

    // Replaying again (all of them, by id) stores nothing twice.
    const ids = rows.map((r) => String(r[0]!.id));
    const second = await replay(ids);
    expect(second.stdout).toMatch(/0 accepted, 2 duplicate, 0 rejected/);
    await t.vigil.ingest.replayRejections();
    // Give the shipper a moment to store anything a second replay might (wrongly) have committed.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await storedCount()).toBe(6);

    // Who asked, and what each replay gave, is in the audit log.
    const { db } = openState(t.dataDir);
    try {
      const audit = new AuditLog(db).list({ limit: 50 });
      expect(audit.filter((e) => e.action === 'rejections.replay').map((e) => e.actor)).toEqual(['Ops on call', 'Ops on call']);
      expect(audit.filter((e) => e.action === 'rejections.replayed')).toHaveLength(6);
    } finally {
      db.close();
    }
  });

  it('does not replay the readings of a device revoked since', async () => {
    const dev = await t.provision();
    slowBy = 10 * MIN;
    const client = await t.connectDevice(dev);
    await client.publishAsync(topic(dev.deviceId, 'readings'), JSON.stringify({ type: 'spo2', time: new Date().toISOString(), value: 97, id: 'r1' }), { qos: 1 });
    await client.endAsync();
    slowBy = 0;
    await t.vigil.registry.revokeDevice(dev.deviceId);
    expect(t.vigil.ingest.rejections.requestReplay({ deviceId: dev.deviceId }).ids).toHaveLength(1);
    await t.vigil.ingest.replayRejections();
    expect(t.vigil.ingest.rejections.recent({ deviceId: dev.deviceId })[0]!.replayResult).toEqual({ accepted: 0, duplicates: 0, rejected: 0, error: 'VIGIL_ERR_NOT_FOUND' });
    expect(await t.vigil.ingest.store.queryRaw({ patientId: dev.patientId, type: 'spo2', from: 0, to: Date.now() + 3_600_000 })).toEqual([]);
  });

  it('refuses a replay without a filter or --all, and without --by', async () => {
    const env = { ...process.env, VIGIL_DATA_DIR: t.dataDir };
    const run = (args: string[]) =>
      exec(process.execPath, [CLI, 'rejections', 'replay', ...args], { env, timeout: 30_000 }).then(
        () => ({ code: 0, stderr: '' }),
        (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
      );
    expect(await run(['--by', 'Ops'])).toMatchObject({ code: 2, stderr: expect.stringContaining('VIGIL_ERR_CONFIG') });
    expect((await run(['--all'])).code).not.toBe(0);
  });
});
