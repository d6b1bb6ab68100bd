import { execFile, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect, type MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { openState } from '../app/state.js';
import { SqliteStore } from '../ingest/index.js';
import { AuditLog, openSqlite } from '../state/index.js';
import { tempDir, waitFor } from './support/temp.js';
import { CLI, startVigilProcess } from './support/vigil-process.js';

const run = promisify(execFile);
const DEVICES = 10;

interface Publisher {
  readonly client: MqttClient;
  stop(): Promise<void>;
}

/** A device publishing heart rates at QoS 1, a few in flight, noting when each one was acknowledged. */
function publish(port: number, device: { id: string; secret: string }, ids: () => string | undefined, acked: Map<string, number>): Publisher {
  const client = connect(`mqtt://127.0.0.1:${port}`, { clientId: device.id, username: device.id, password: device.secret, reconnectPeriod: 200, connectTimeout: 5000 });
  client.on('error', () => undefined);
  let running = true;
  const loop = (async () => {
    const inflight = new Set<Promise<void>>();
    for (let id = ids(); running && id !== undefined; id = ids()) {
      const n = Number(id.split('-').at(-1));
      const payload = JSON.stringify({ type: 'heart_rate', time: new Date(Date.UTC(2026, 10, 1) + n * 1000).toISOString(), value: 50 + (n % 100), id });
      const p = new Promise<void>((resolve) => {
        client.publish(`rpm/v1/devices/${device.id}/readings`, payload, { qos: 1 }, (err) => {
          if (!err) acked.set(id, Date.now());
          resolve();
        });
      });
      inflight.add(p);
      void p.then(() => inflight.delete(p));
      if (inflight.size >= 8) await Promise.race(inflight);
    }
    await Promise.all(inflight);
  })();
  return {
    client,
    async stop() {
      running = false;
      await Promise.race([loop, new Promise((resolve) => setTimeout(resolve, 2000))]);
      await client.endAsync(true);
    },
  };
}

function cli(args: string[]): Promise<{ code: number; out: string }> {
  return run(process.execPath, [CLI, ...args], { env: { ...process.env, VIGIL_LOG_LEVEL: 'silent' } }).then(
    ({ stdout, stderr }) => ({ code: 0, out: stdout + stderr }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` }),
  );
}

/**
 * A backup taken while devices publish at QoS 1, the instance killed afterwards, the backup restored into a
 * new data dir: every reading acknowledged before the backup started comes from the backup (the devices do
 * not send those again), those acknowledged later come back because the devices resend them, and each is
 * stored exactly once; alerts and the audit log are as they were.
 */
describe('backup and restore under load', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('restores every acknowledged reading exactly once, with alerts and audit intact', async () => {
    const live = await tempDir();
    const backupRoot = await tempDir();
    const fresh = await tempDir();
    cleanups.push(live.remove, backupRoot.remove, fresh.remove);
    const backupDir = join(backupRoot.path, 'b1');

    const { db, registry } = openState(live.path);
    const patient = await registry.addPatient({ name: 'Backup Test' });
    const devices = [];
    for (let i = 0; i < DEVICES; i++) {
      const { device, secret } = await registry.addDevice({ patientId: patient.id, id: `bk-${i}` });
      devices.push({ id: device.id, secret });
    }
    new AuditLog(db).record('test', 'patient.view', patient.id, null);
    db.close();

    const env = { VIGIL_DATA_DIR: live.path, VIGIL_DEVICE_RATE: '1000', VIGIL_DEVICE_BURST: '1000' };
    const first = await startVigilProcess(env);
    let server: ChildProcess = first.child;
    cleanups.push(() => void server.kill('SIGKILL'));

    const acked = new Map<string, number>();
    const published: string[] = [];
    const counters = devices.map(() => 0);
    const publishers = devices.map((d, i) =>
      publish(first.mqttPort, d, () => {
        const id = `${d.id}-${counters[i]!++}`;
        published.push(id);
        return id;
      }, acked),
    );
    cleanups.push(() => Promise.all(publishers.map((p) => p.stop())).then(() => undefined));

    await waitFor(() => acked.size >= 1000, { what: 'load before the backup', timeoutMs: 60_000 });
    // What the backup must hold: alerts and audit entries as they are now (an alert per pulse >= 131 /min).
    const before = openSqlite(join(live.path, 'vigil.db'));
    await waitFor(() => (before.prepare('SELECT count(*) AS n FROM alerts').get() as { n: number }).n > 0, { what: 'an alert before the backup' });
    const alertsAtBackup = before.prepare('SELECT id, rule_id, status, opened_at FROM alerts ORDER BY id').all();
    const auditAtBackup = before.prepare('SELECT id, action, actor, patient_id FROM audit_log ORDER BY id').all();
    before.close();

    const backupStart = Date.now();
    const backup = await cli(['backup', backupDir, '--data-dir', live.path]);
    expect(backup.out).toContain('backup written');
    expect(backup.code).toBe(0);
    const afterBackup = acked.size;
    await waitFor(() => acked.size >= afterBackup + 300, { what: 'load after the backup', timeoutMs: 60_000 });

    // A restore over the running instance is refused.
    const refused = await cli(['restore', backupDir, '--data-dir', live.path, '--replace']);
    expect(refused.code).not.toBe(0);
    expect(refused.out).toMatch(/is running on/);

    const killed = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGKILL');
    await killed;
    await Promise.all(publishers.map((p) => p.stop()));

    const restored = await cli(['restore', backupDir, '--data-dir', fresh.path]);
    expect(restored.out).toContain('restored the backup');
    expect(restored.code).toBe(0);

    const second = await startVigilProcess({ ...env, VIGIL_DATA_DIR: fresh.path });
    server = second.child;
    // The devices send again what was not acknowledged before the backup started (never what was).
    const resend = published.filter((id) => (acked.get(id) ?? Number.POSITIVE_INFINITY) >= backupStart);
    expect(resend.length).toBeLessThan(published.length);
    const reacked = new Map<string, number>();
    const queues = devices.map((d) => resend.filter((id) => id.startsWith(`${d.id}-`)));
    const resenders = devices.map((d, i) => publish(second.mqttPort, d, () => queues[i]!.shift(), reacked));
    await waitFor(() => reacked.size === resend.length, { what: 'the devices to resend', timeoutMs: 60_000 });
    await Promise.all(resenders.map((p) => p.stop()));

    const exited = new Promise<number | null>((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    expect(await exited).toBe(0);

    const store = new SqliteStore(fresh.path);
    cleanups.push(() => store.close());
    const rows = await store.queryRaw({ patientId: patient.id, type: 'heart_rate', from: 0, to: Date.UTC(2030, 0, 1) });
    const stored = new Set(rows.map((r) => `${r.deviceId}|${r.time}`));
    expect(stored.size).toBe(rows.length);
    const expected = new Set(published.map((id) => {
      const n = Number(id.split('-').at(-1));
      return `${id.slice(0, id.lastIndexOf('-'))}|${Date.UTC(2026, 10, 1) + n * 1000}`;
    }));
    // Everything published was acknowledged by one instance or the other, and is stored exactly once.
    for (const id of published) expect(acked.has(id) || reacked.has(id)).toBe(true);
    expect(rows.length).toBe(expected.size);
    expect([...expected].filter((k) => !stored.has(k))).toEqual([]);

    const after = openSqlite(join(fresh.path, 'vigil.db'));
    const alertsAfter = after.prepare('SELECT id, rule_id, status, opened_at FROM alerts ORDER BY id').all() as { id: number }[];
    const auditAfter = after.prepare('SELECT id, action, actor, patient_id FROM audit_log ORDER BY id').all() as { action: string }[];
    after.close();
    expect(alertsAfter.slice(0, alertsAtBackup.length)).toEqual(alertsAtBackup);
    expect(auditAfter.slice(0, auditAtBackup.length)).toEqual(auditAtBackup);
    expect(auditAfter.map((a) => a.action)).toContain('backup.restore');
    // Four process starts (two servers, backup, restore) on a shared two-core machine.
  }, 240_000);
});
