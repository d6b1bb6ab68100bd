import { afterEach, describe, expect, it } from 'vitest';
import { openState } from '../../app/state.js';
import { tempDir } from '../../test/support/temp.js';
import { SessionStore } from './session-store.js';
import { UserStore } from './user-store.js';

describe('sessions', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  async function setup() {
    const dir = await tempDir();
    const { db } = openState(dir.path);
    cleanups.push(() => db.close(), dir.remove);
    const users = new UserStore(db);
    const user = await users.add({ username: 'nurse', role: 'clinician', password: 'a long enough password' });
    return { db, users, user, sessions: new SessionStore(db, { idleMs: 15 * 60_000, maxAgeMs: 12 * 3_600_000 }) };
  }

  it('ends after the idle time without requests, and activity keeps it alive up to the absolute limit', async () => {
    const { sessions, user } = await setup();
    const t0 = Date.parse('2026-11-23T08:00:00Z');
    const { id } = sessions.create(user.id, '10.0.0.5', t0);
    expect(sessions.touch(id, t0 + 14 * 60_000)).toBeDefined();
    expect(sessions.touch(id, t0 + 28 * 60_000)).toBeDefined();
    // A background refresh sees the session without keeping it alive.
    expect(sessions.peek(id, t0 + 40 * 60_000)).toBeDefined();
    expect(sessions.touch(id, t0 + 44 * 60_000)).toBeUndefined();
    expect(sessions.touch(id, t0 + 45 * 60_000)).toBeUndefined();

    const second = sessions.create(user.id, null, t0);
    for (let m = 10; m < 12 * 60; m += 10) expect(sessions.touch(second.id, t0 + m * 60_000)).toBeDefined();
    expect(sessions.touch(second.id, t0 + 12 * 60 * 60_000 + 1)).toBeUndefined();
  });

  it('keeps only a hash of the session id, and a new password ends every session of the user', async () => {
    const { db, sessions, users, user } = await setup();
    const { id } = sessions.create(user.id, null, Date.now());
    const stored = db.prepare('SELECT id_hash FROM sessions').all() as { id_hash: string }[];
    expect(stored).toHaveLength(1);
    expect(stored[0]!.id_hash).not.toContain(id);
    await users.setPassword('nurse', 'another long password');
    expect(sessions.touch(id, Date.now())).toBeUndefined();
  });

  it('rejects weak passwords and bad names with a reason, and never stores the password', async () => {
    const { db, users } = await setup();
    await expect(users.add({ username: 'x', role: 'clinician', password: 'a long enough password' })).rejects.toThrow(/user name/);
    await expect(users.add({ username: 'short', role: 'clinician', password: 'short' })).rejects.toThrow(/at least 12/);
    await expect(users.add({ username: 'NURSE', role: 'admin', password: 'a long enough password' })).rejects.toThrow(/already exists/);
    const hashes = db.prepare('SELECT password_hash FROM users').all() as { password_hash: string }[];
    expect(hashes[0]!.password_hash).toMatch(/^scrypt\$32768\$8\$3\$/);
    expect(hashes[0]!.password_hash).not.toContain('a long enough password');
  });
});
