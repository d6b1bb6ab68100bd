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
});
