import type { Command } from 'commander';
import { z } from 'zod';
import type { UserStore } from '../../dashboard/index.js';
import { usernameSchema } from '../../dashboard/without-server.js';
import { VigilError } from '../../domain/index.js';
import { ARG, examples, parsedBy } from '../args.js';
import { action, isoOrDash, printTable } from '../run.js';
import { DATA_DIR_HELP } from '../state-config.js';
import { withIdentity } from '../with-identity.js';

const days = parsedBy(z.coerce.number().int().min(1).max(3650), 'a whole number of days from 1 to 3650');
const tokenId = parsedBy(z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER), 'a token id from "vigil users token list", e.g. 3');
const username = parsedBy(usernameSchema, '2-64 letters, digits, ".", "_", "@" or "-"');

async function userId(users: UserStore, name: string): Promise<number> {
  const user = await users.byUsername(name);
  if (!user) throw new VigilError('VIGIL_ERR_NOT_FOUND', `user ${name} does not exist (see vigil users list)`);
  return user.id;
}

/** `vigil users token add|list|revoke`: personal API tokens (docs/interop.md), safe while the server runs. */
export function registerApiTokens(program: Command): void {
  const users = program.commands.find((c) => c.name() === 'users') ?? program.command('users');
  const token = examples(
    users.command('token').description("a user's personal API tokens (Authorization: Bearer), for integrations such as an EHR reading /fhir"),
    'vigil users token add ehr-bot --label "EHR interface" --expires-in-days 365',
    'vigil users token list ehr-bot',
  );
  examples(token.command('add'), 'vigil users token add ehr-bot --label "EHR interface" --expires-in-days 365')
    .description("create a token that acts as the user (their role and care teams, as they are at each request); it is printed once (audited)")
    .argument('<username>', 'the user the token acts as', username)
    .requiredOption('--label <text>', 'what the token is for', ARG.name)
    .option('--expires-in-days <n>', 'days until it stops working (default: until revoked)', days)
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (name: string, opts: { label: string; expiresInDays?: number; dataDir?: string }) => {
        const created = await withIdentity(opts, async ({ users, tokens, audit, by }) => {
          const made = await tokens.create(await userId(users, name), { label: opts.label, expiresAt: opts.expiresInDays === undefined ? null : Date.now() + opts.expiresInDays * 86_400_000, createdBy: by });
          audit('token.create', `user:${made.apiToken.username}`, { tokenId: made.apiToken.id, label: opts.label, expiresAt: made.apiToken.expiresAt });
          return made;
        });
        process.stdout.write(`API token ${created.apiToken.id} for ${created.apiToken.username} (${created.apiToken.label}), ${created.apiToken.expiresAt ? `expires ${isoOrDash(created.apiToken.expiresAt)}` : 'until revoked'}\n`);
        process.stdout.write(`token: ${created.token}\nGive it to the integration now: it is not shown again (only its SHA-256 is kept).\n`);
      }),
    );
  examples(token.command('list'), 'vigil users token list', 'vigil users token list ehr-bot --json')
    .description('list API tokens (never the tokens themselves), newest first')
    .argument('[username]', 'only this user', username)
    .option('--json', 'print JSON')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (name: string | undefined, opts: { json?: boolean; dataDir?: string }) => {
        const list = await withIdentity(opts, async ({ users, tokens }) => tokens.list(name === undefined ? undefined : await userId(users, name)));
        if (opts.json) process.stdout.write(`${JSON.stringify(list)}\n`);
        else
          printTable(
            list.map((t) => ({
              id: t.id,
              user: t.username,
              label: t.label,
              created: isoOrDash(t.createdAt),
              expires: isoOrDash(t.expiresAt),
              lastUsed: isoOrDash(t.lastUsedAt),
              state: t.revokedAt ? `revoked ${isoOrDash(t.revokedAt)}` : t.expiresAt !== null && t.expiresAt <= Date.now() ? 'expired' : 'active',
            })),
          );
      }),
    );
  examples(token.command('revoke'), 'vigil users token revoke 3')
    .description('revoke an API token: the next request with it is refused (audited)')
    .argument('<id>', 'the token id', tokenId)
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (id: number, opts: { dataDir?: string }) => {
        const revoked = await withIdentity(opts, async ({ tokens, audit }) => {
          const t = await tokens.revoke(id);
          audit('token.revoke', `user:${t.username}`, { tokenId: t.id, label: t.label });
          return t;
        });
        process.stdout.write(`API token ${revoked.id} of ${revoked.username} (${revoked.label}) revoked\n`);
      }),
    );
}
