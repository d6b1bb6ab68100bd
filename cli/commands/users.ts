import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import type { UserStore } from '../../dashboard/index.js';
import { ROLES, type Role } from '../../domain/index.js';
import { ARG, examples, oneOf } from '../args.js';
import { action, isoOrDash, printTable } from '../run.js';
import { DATA_DIR_HELP } from '../state-config.js';
import { withIdentity } from '../with-identity.js';

interface Common {
  dataDir?: string;
}

function withUsers<T>(opts: Common, body: (users: UserStore, audit: (action: string, target: string, details?: unknown) => void) => Promise<T> | T): Promise<T> {
  return withIdentity(opts, ({ users, audit }) => body(users, audit));
}

/**
 * The password: from VIGIL_NEW_PASSWORD (scripts), else generated and printed once. Never a command-line
 * argument, where it would end up in the shell history and the process list.
 */
function newPassword(): { password: string; generated: boolean } {
  const given = process.env.VIGIL_NEW_PASSWORD;
  if (given) return { password: given, generated: false };
  return { password: randomBytes(15).toString('base64url'), generated: true };
}

/** The tokens a reset or disabling revoked, for the command's answer: the operator must know integrations stop. */
function revokedNote(tokenIds: readonly number[]): string {
  if (tokenIds.length === 0) return '';
  return ` and ${tokenIds.length === 1 ? 'API token' : 'API tokens'} ${tokenIds.join(', ')} revoked (issue new ones with "vigil users token add")`;
}

const role = oneOf(ROLES as unknown as readonly [Role, ...Role[]]);

/** `vigil users ...`: dashboard accounts, safe while the server runs on the same data dir. */
export function registerUsers(program: Command): void {
  const users = examples(program.command('users').description('dashboard accounts: add, list, change, disable, unlock, reset passwords (in the PostgreSQL of $VIGIL_DATABASE_URL when it is set, else in the data dir)'), 'vigil users add alice --role clinician --team cardiology --name "Dr Alice Jones"', 'vigil users list');
  examples(users.command('add'), 'vigil users add alice --role clinician --team cardiology community --name "Dr Alice Jones"', 'VIGIL_NEW_PASSWORD="$(cat alice.pw)" vigil users add admin2 --role admin')
    .description('create a dashboard user; the password comes from $VIGIL_NEW_PASSWORD or is generated and printed once')
    .argument('<username>', 'the login name (2-64 letters, digits, ".", "_", "@" or "-")')
    .requiredOption('--role <role>', `${ROLES.join(' or ')}`, role)
    .option('--team <careTeam...>', 'care teams whose patients the user sees (clinicians)', ARG.careTeams)
    .option('--name <displayName>', 'the name shown in the dashboard and on alert actions', ARG.name)
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (username: string, opts: { role: Role; team?: string[]; name?: string } & Common) => {
        const { password, generated } = newPassword();
        const user = await withUsers(opts, async (store, audit) => {
          const added = await store.add({ username, role: opts.role, careTeams: opts.team, displayName: opts.name, password });
          audit('user.add', `user:${added.username}`, { role: opts.role, careTeams: added.careTeams });
          return added;
        });
        process.stdout.write(`user ${user.username} added (${user.role}${user.careTeams.length ? `, care teams: ${user.careTeams.join(', ')}` : ''})\n`);
        if (generated) process.stdout.write(`password: ${password}\nGive it to the user now: it is not shown again (change it with "vigil users set-password").\n`);
      }),
    );
  examples(users.command('list'), 'vigil users list', 'vigil users list --json')
    .description('list dashboard users')
    .option('--json', 'print JSON')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (opts: { json?: boolean } & Common) => {
        const list = await withUsers(opts, (store) => store.list());
        if (opts.json) process.stdout.write(`${JSON.stringify(list)}\n`);
        else
          printTable(
            list.map((u) => ({
              username: u.username,
              name: u.displayName,
              role: u.role,
              teams: u.careTeams.join(', ') || '-',
              state: u.disabledAt ? 'disabled' : u.lockedUntil && u.lockedUntil > Date.now() ? 'locked' : 'active',
              lastLogin: isoOrDash(u.lastLoginAt),
            })),
          );
      }),
    );
  examples(users.command('set'), 'vigil users set alice --team cardiology heart-failure', 'vigil users set bob --role admin --no-team')
    .description("change a user's role, care teams or name")
    .argument('<username>', 'the login name (2-64 letters, digits, ".", "_", "@" or "-")')
    .option('--role <role>', `${ROLES.join(' or ')}`, role)
    .option('--team <careTeam...>', 'the care teams (replaces the current ones)', ARG.careTeams)
    .option('--no-team', 'no care team')
    .option('--name <displayName>', 'the name shown in the dashboard', ARG.name)
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (username: string, opts: { role?: Role; team?: string[] | false; name?: string } & Common) => {
        const changes = { role: opts.role, careTeams: opts.team === false ? [] : opts.team, displayName: opts.name };
        const user = await withUsers(opts, async (store, audit) => {
          const changed = await store.update(username, changes);
          // What the account now has for each option given (teams named twice are kept once), as the API records it.
          audit('user.change', `user:${changed.username}`, {
            ...(changes.role === undefined ? {} : { role: changed.role }),
            ...(changes.careTeams === undefined ? {} : { careTeams: changed.careTeams }),
            ...(changes.displayName === undefined ? {} : { displayName: changed.displayName }),
          });
          return changed;
        });
        process.stdout.write(`user ${user.username}: ${user.role}, care teams: ${user.careTeams.join(', ') || '(none)'}\n`);
      }),
    );
  examples(users.command('set-password'), 'vigil users set-password alice', 'VIGIL_NEW_PASSWORD="$(cat alice.pw)" vigil users set-password alice')
    .argument('<username>', 'the login name (2-64 letters, digits, ".", "_", "@" or "-")')
    .description('set a new password ($VIGIL_NEW_PASSWORD or generated and printed once); ends the user\'s sessions, revokes their API tokens and lifts a lockout')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (username: string, opts: Common) => {
        const { password, generated } = newPassword();
        // The target is the account's name as stored, not as typed (names match whatever their case), as the API
        // records it: one account's trail is one target in the audit log.
        const { user, ended } = await withUsers(opts, async (store, audit) => {
          const changed = await store.change(username, { password });
          const target = `user:${changed.user.username}`;
          audit('user.password', target, { sessionsEnded: changed.ended.sessions, tokensRevoked: changed.ended.tokenIds });
          // One `token.revoke` per token as well, as the API records it: the token's own trail says why it stopped.
          for (const tokenId of changed.ended.tokenIds) audit('token.revoke', target, { tokenId, reason: 'password-reset' });
          return changed;
        });
        process.stdout.write(`password of ${user.username} changed; their sessions have ended${revokedNote(ended.tokenIds)}\n`);
        if (generated) process.stdout.write(`password: ${password}\n`);
      }),
    );
  for (const [verb, disabled] of [['disable', true], ['enable', false]] as const) {
    examples(users.command(verb), `vigil users ${verb} alice`)
      .argument('<username>', 'the login name (2-64 letters, digits, ".", "_", "@" or "-")')
      .description(disabled ? 'disable a user: they cannot log in, their sessions end and their API tokens are revoked at once' : 'enable a disabled user again')
      .option('--data-dir <dir>', DATA_DIR_HELP)
      .action(
        action(async (username: string, opts: Common) => {
          const { user, ended } = await withUsers(opts, async (store, audit) => {
            const result = await store.setDisabled(username, disabled);
            const target = `user:${result.user.username}`;
            if (!disabled) audit('user.enable', target);
            else {
              audit('user.disable', target, { sessionsEnded: result.ended.sessions, tokensRevoked: result.ended.tokenIds });
              for (const tokenId of result.ended.tokenIds) audit('token.revoke', target, { tokenId, reason: 'user-disabled' });
            }
            return result;
          });
          process.stdout.write(`user ${user.username} ${disabled ? `disabled; their sessions have ended${revokedNote(ended.tokenIds)}` : 'enabled (API tokens revoked when it was disabled stay revoked)'}\n`);
        }),
      );
  }
  examples(users.command('unlock'), 'vigil users unlock alice')
    .argument('<username>', 'the login name (2-64 letters, digits, ".", "_", "@" or "-")')
    .description('lift a lockout after too many failed logins')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (username: string, opts: Common) => {
        const user = await withUsers(opts, async (store, audit) => {
          await store.unlock(username);
          // Users are never deleted: the account just unlocked is there, under the name as stored.
          const unlocked = (await store.byUsername(username))!;
          audit('user.unlock', `user:${unlocked.username}`);
          return unlocked;
        });
        process.stdout.write(`user ${user.username} unlocked\n`);
      }),
    );
}
