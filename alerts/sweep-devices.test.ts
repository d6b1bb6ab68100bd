import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Clinic, HOUR } from '../test/support/clinic.js';

/**
 * The sweep reads every device once, at its start, then works through them in slices that yield to the broker's
 * thread. A device that reconnects, or is revoked, after that read must not get an alert from the snapshot: a
 * clinician would be paged for a device that is back, and the next sweep would resolve it.
 */
describe("the sweep's devices as they are when it decides (embedded)", () => {
  let c: Clinic;
  beforeEach(async () => {
    c = await Clinic.open();
  });
  afterEach(() => c.close());

  /** A device offline for 25 h: past device.offline's 24 h. */
  async function offlineDevice() {
    const who = await c.patient(['hypertension']);
    c.state.registry.recordStatusChanges([{ kind: 'disconnected', deviceId: who.deviceId, at: c.clock }]);
    c.advance(25 * HOUR);
    return who;
  }

  /** Runs `meanwhile` once, right after the sweep has read the devices. */
  function afterDevicesRead(meanwhile: () => unknown) {
    const registry = c.state.registry;
    const list = registry.listDevices.bind(registry);
    registry.listDevices = () => {
      registry.listDevices = list;
      const read = list();
      void meanwhile();
      return read;
    };
  }

  it('opens an offline alert for a device still offline', async () => {
    const who = await offlineDevice();
    await c.sweep();
    expect(c.live(who.patientId, 'device.offline')).toMatchObject({ subject: who.deviceId, status: 'open' });
  });

  it('opens none for a device that came back after the sweep read the devices', async () => {
    const who = await offlineDevice();
    afterDevicesRead(() => c.state.registry.recordStatusChanges([{ kind: 'connected', deviceId: who.deviceId, at: c.clock }]));
    await c.sweep();
    expect(c.live(who.patientId, 'device.offline')).toBeUndefined();
    expect(c.events.filter((e) => e.alert.ruleId === 'device.offline')).toEqual([]);
  });

  it('opens none for a device revoked after the sweep read the devices', async () => {
    const who = await offlineDevice();
    let revoked: Promise<unknown> | undefined;
    afterDevicesRead(() => (revoked = c.state.registry.revokeDevice(who.deviceId)));
    await c.sweep();
    await revoked;
    await c.sweep();
    expect(c.events.filter((e) => e.alert.ruleId === 'device.offline')).toEqual([]);
  });

  it('opens none for a device the CLI revoked after the sweep read the devices, and still opens the others', async () => {
    // Rejected readings: a device that publishes, which the broker's thread has just looked up (the registry keeps
    // it in its cache, which learns of another process's commits at most every 200 ms).
    const [revoked, kept] = await Promise.all([c.patient(), c.patient()]);
    const rejected = Array.from({ length: 5 }, (_, i) => ({ ref: String(i), code: 'VIGIL_ERR_OUT_OF_RANGE' as const, message: 'glucose 1500 mg/dL is outside 10-1000 mg/dL' }));
    for (const who of [revoked, kept]) {
      c.rejections.record({ deviceId: who.deviceId, patientId: who.patientId, rejections: rejected, receivedAt: Date.now(), payload: Buffer.from('[]'), allRejected: true });
      c.state.registry.getDevice(who.deviceId);
    }
    // The CLI's connection: its revocation commits after the sweep's start read (counting the rejections comes
    // right after it), before the slice that decides on the device.
    const cli = new Database(c.state.db.name);
    const counts = c.rejections.countsSince.bind(c.rejections);
    c.rejections.countsSince = (since: number) => {
      c.rejections.countsSince = counts;
      const read = counts(since);
      cli.prepare('UPDATE devices SET revoked_at = ?, online = 0 WHERE id = ?').run(c.clock, revoked.deviceId);
      return read;
    };
    try {
      await c.sweep();
    } finally {
      cli.close();
    }
    expect(c.live(revoked.patientId, 'device.rejected_readings')).toBeUndefined();
    expect(c.events.filter((e) => e.alert.subject === revoked.deviceId)).toEqual([]);
    expect(c.live(kept.patientId, 'device.rejected_readings')).toMatchObject({ subject: kept.deviceId, status: 'open', latestValues: { rejected: 5 } });
  });
});
