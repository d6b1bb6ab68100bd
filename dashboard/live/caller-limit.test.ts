import { describe, expect, it } from 'vitest';
import type { Principal } from '../auth/principal.js';
import { CallerLimit } from './caller-limit.js';

const admin = (username: string): Principal => ({ kind: 'token', userId: null, username, displayName: username, role: 'admin', careTeams: [] });
const session: Principal = { kind: 'session', userId: 1, username: 'card', displayName: 'card', role: 'clinician', careTeams: ['cardiology'], sessionId: 's1' };

/** Open live connections per caller: what counts as one caller. */
describe('live connections per caller', () => {
  it('counts the admin token per actor and address, so that one integration cannot use up the others\' allowance', () => {
    const limit = new CallerLimit(2);
    const runaway = admin('admin:script');
    expect(limit.take(runaway, '10.0.0.5')).toBeDefined();
    expect(limit.take(runaway, '10.0.0.5')).toBeDefined();
    expect(limit.admits(runaway, '10.0.0.5')).toBe(false);
    expect(limit.take(runaway, '10.0.0.5')).toBeUndefined();
    // Another integration with the same token: another actor, or the same (or none) from another host.
    expect(limit.admits(admin('admin:wallboard'), '10.0.0.5')).toBe(true);
    expect(limit.admits(runaway, '10.0.0.9')).toBe(true);
    expect(limit.admits(admin('admin'), '10.0.0.9')).toBe(true);
  });

  it('counts a session as one caller wherever it connects from, and frees a slot once per release', () => {
    const limit = new CallerLimit(2);
    const first = limit.take(session, '10.0.0.5')!;
    limit.take(session, '192.168.1.20');
    expect(limit.admits(session, '172.16.0.1')).toBe(false);
    first();
    first();
    expect(limit.admits(session, '172.16.0.1')).toBe(true);
    expect(limit.take(session, '172.16.0.1')).toBeDefined();
    expect(limit.admits(session, '10.0.0.5')).toBe(false);
  });
});
