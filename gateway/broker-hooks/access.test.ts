import { describe, expect, it } from 'vitest';
import { BrokerAccess, type DeviceDirectory } from './access.js';

/** The registry's port, counting the secret checks asked of it (each is a hash, or a legacy scrypt). */
function directory(): DeviceDirectory & { checks: number } {
  return {
    checks: 0,
    async authenticateDevice(id) {
      this.checks++;
      return id === 'cuff-1' ? 'bad-secret' : 'unknown';
    },
    getDevice: () => undefined,
  };
}

describe('broker hook logins', () => {
  const access = (devices: DeviceDirectory) => new BrokerAccess({ devices, topicPrefix: 'rpm/v1', worker: undefined, failuresPerMinutePerDevice: 5, failuresPerMinutePerAddress: 1_000 });

  it('refuses a username that cannot be a device id without a secret check, and keeps no per-device bucket for it', async () => {
    const devices = directory();
    const hooks = access(devices);
    // Through EMQX a username may be a megabyte; a peer making up new ones must not fill the throttle with them.
    for (let i = 0; i < 20; i++) {
      expect(await hooks.login({ username: `${'x'.repeat(100_000)}${i}`, password: 'guess', clientId: undefined, peer: '10.0.0.9' })).toEqual({ allow: false, reason: 'unknown' });
    }
    expect(devices.checks).toBe(0);
    // The same long username again and again is not throttled per device either (there is no such device): it stays unknown.
    for (let i = 0; i < 10; i++) expect(await hooks.login({ username: 'y'.repeat(65), password: 'guess', clientId: undefined, peer: '10.0.0.9' })).toMatchObject({ reason: 'unknown' });
  });

  it('still throttles a real device id after its failures, and a peer after its own', async () => {
    const devices = directory();
    const hooks = access(devices);
    for (let i = 0; i < 5; i++) expect(await hooks.login({ username: 'cuff-1', password: 'guess', clientId: undefined, peer: '10.0.0.1' })).toMatchObject({ reason: 'bad-credentials' });
    expect(await hooks.login({ username: 'cuff-1', password: 'guess', clientId: undefined, peer: '10.0.0.2' })).toMatchObject({ reason: 'throttled' });
    expect(devices.checks).toBe(5);
    const strict = new BrokerAccess({ devices, topicPrefix: 'rpm/v1', worker: undefined, failuresPerMinutePerDevice: 5, failuresPerMinutePerAddress: 3 });
    for (let i = 0; i < 3; i++) await strict.login({ username: `not a device ${i}`, password: 'guess', clientId: undefined, peer: '10.0.0.3' });
    expect(await strict.login({ username: 'cuff-2', password: 'guess', clientId: undefined, peer: '10.0.0.3' })).toMatchObject({ reason: 'throttled' });
  });
});
