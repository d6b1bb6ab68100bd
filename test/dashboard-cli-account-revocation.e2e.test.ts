import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openState } from '../app/state.js';
import { SqlApiTokenStore } from '../dashboard/index.js';
import { AuditLog, sqliteClient } from '../state/index.js';
import { tempDir } from './support/temp.js';
import { CLI } from './support/vigil-process.js';

const exec = promisify(execFile);

/** `vigil users set-password` and `vigil users disable` take a compromised account back as the API does. */
describe('the CLI ends every credential of a reset or disabled account', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const env = () => ({ ...process.env, VIGIL_DATA_DIR: dir.path, VIGIL_NEW_PASSWORD: 'a long enough password' });
  const vigil = async (...args: string[]) => (await exec(process.execPath, [CLI, ...args], { env: env(), timeout: 30_000 })).stdout;
  const tokenId = (stdout: string) => Number(/API token (\d+)/.exec(stdout)?.[1]);

  /** The data dir's token states and audit entries, read as the server reads them. */
  async function inspect(ids: readonly number[]) {
    const state = openState(dir.path);
    try {
      const tokens = new SqlApiTokenStore(sqliteClient(state.db));
      const active = await Promise.all(ids.map((id) => tokens.active(id)));
      return { active, log: new AuditLog(state.db).list({}) };
    } finally {
      state.db.close();
    }
  }

  beforeAll(async () => {
    dir = await tempDir();
    await vigil('users', 'add', 'card', '--role', 'clinician', '--team', 'cardiology');
  }, 60_000);
  afterAll(async () => {
    await dir?.remove();
  });

  it('set-password revokes the API tokens and says so, audited', async () => {
    const first = tokenId(await vigil('users', 'token', 'add', 'card', '--label', 'EHR interface'));
    const second = tokenId(await vigil('users', 'token', 'add', 'card', '--label', 'script'));
    const out = await vigil('users', 'set-password', 'card');
    expect(out).toContain(`API tokens ${first}, ${second} revoked`);
    const { active, log } = await inspect([first, second]);
    expect(active).toEqual([false, false]);
    expect(log.find((e) => e.action === 'user.password')?.details).toEqual({ sessionsEnded: 0, tokensRevoked: [first, second] });
    expect(log.filter((e) => e.action === 'token.revoke').map((e) => e.details)).toEqual(
      expect.arrayContaining([
        { tokenId: first, reason: 'password-reset' },
        { tokenId: second, reason: 'password-reset' },
      ]),
    );
  }, 60_000);

  it('disable revokes them for good: enable does not bring them back', async () => {
    const id = tokenId(await vigil('users', 'token', 'add', 'card', '--label', 'after the reset'));
    expect(await vigil('users', 'disable', 'card')).toContain(`API token ${id} revoked`);
    await vigil('users', 'enable', 'card');
    const { active, log } = await inspect([id]);
    expect(active).toEqual([false]);
    expect(log.filter((e) => e.action === 'token.revoke').map((e) => e.details)).toContainEqual({ tokenId: id, reason: 'user-disabled' });
  }, 60_000);

  it('names the account as it is spelt, whatever case the operator typed, so its trail is one target', async () => {
    const id = tokenId(await vigil('users', 'token', 'add', 'card', '--label', 'before the upper-case commands'));
    await vigil('users', 'set-password', 'CARD');
    await vigil('users', 'disable', 'Card');
    await vigil('users', 'enable', 'cArd');
    await vigil('users', 'unlock', 'CARD');
    const { log } = await inspect([id]);
    const actions = ['user.password', 'token.revoke', 'user.disable', 'user.enable', 'user.unlock'];
    const entries = log.filter((e) => actions.includes(e.action) && e.at >= log.find((f) => f.action === 'token.create' && (f.details as { tokenId?: number }).tokenId === id)!.at);
    expect(new Set(entries.map((e) => e.action))).toEqual(new Set(actions));
    expect(entries.map((e) => e.target)).toEqual(entries.map(() => 'user:card'));
  }, 60_000);

  it('set records what the account now has, not the options as typed', async () => {
    await vigil('users', 'set', 'CARD', '--team', 'oncology', 'oncology', 'cardiology');
    const { log } = await inspect([]);
    const change = log.find((e) => e.action === 'user.change');
    expect(change).toMatchObject({ target: 'user:card', details: { careTeams: ['oncology', 'cardiology'] } });
  }, 60_000);
});
