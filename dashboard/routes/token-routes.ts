import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { apiTokenSchema, newApiTokenSchema, VigilError } from '../../domain/index.js';
import type { ApiTokenStore } from '../auth/identity.js';
import { requireAdminInPerson } from '../auth/authenticate.js';
import { usernameSchema } from '../auth/user-store.js';
import { actor, type DashboardContext } from '../context.js';
import { adminOnly } from './admin-only.js';
import { noContent, responses } from './responses.js';

export const tokenLabelSchema = z.string().trim().min(1).max(100).describe('what the token is for, e.g. "EHR interface"');
export const MAX_TOKEN_DAYS = 3650;

const usernameParams = z.object({ username: usernameSchema });
const tokenParams = z.object({ username: usernameSchema, id: z.coerce.number().int().positive() });
const newToken = z.object({
  label: tokenLabelSchema,
  expiresInDays: z.number().int().min(1).max(MAX_TOKEN_DAYS).optional().describe('absent: until revoked'),
});

/**
 * Administrators: a user's personal API tokens (docs/interop.md). Creating one answers the token once; the list
 * never shows it; revoking applies to the next request. Not with a personal API token, even an administrator's. Each change is audited (`token.create`, `token.revoke`).
 */
export async function registerTokenRoutes(app: FastifyInstance, ctx: DashboardContext, tokens: ApiTokenStore): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.addHook('onRequest', adminOnly(ctx, requireAdminInPerson));
  const userOf = async (username: string) => {
    const user = await ctx.users.byUsername(username);
    if (!user) throw new VigilError('VIGIL_ERR_NOT_FOUND', `user ${username} does not exist`);
    return user;
  };

  api.get(
    '/api/users/:username/tokens',
    { schema: { tags: ['admin'], summary: "A user's API tokens, newest first (never the tokens themselves)", params: usernameParams, response: responses({ 200: z.object({ tokens: z.array(apiTokenSchema) }) }, 400, 401, 403, 404) } },
    async (request) => ({ tokens: await tokens.list((await userOf(request.params.username)).id) }),
  );

  api.post(
    '/api/users/:username/tokens',
    {
      schema: {
        tags: ['admin'],
        summary: 'Create a personal API token for the user (Authorization: Bearer); the answer shows it once',
        params: usernameParams,
        body: newToken,
        response: responses({ 201: newApiTokenSchema }, 400, 401, 403, 404),
      },
    },
    async (request, reply) => {
      const user = await userOf(request.params.username);
      const { label, expiresInDays } = request.body;
      const by = actor(request);
      const created = await tokens.create(user.id, { label, expiresAt: expiresInDays === undefined ? null : Date.now() + expiresInDays * 86_400_000, createdBy: typeof by === 'string' ? by : by.name });
      ctx.audit.record(by, 'token.create', null, `user:${user.username}`, { tokenId: created.apiToken.id, label, expiresAt: created.apiToken.expiresAt });
      return reply.code(201).send(created);
    },
  );

  api.delete(
    '/api/users/:username/tokens/:id',
    { schema: { tags: ['admin'], summary: 'Revoke an API token: the next request with it is refused (401)', params: tokenParams, response: responses({ 204: noContent }, 400, 401, 403, 404, 409) } },
    async (request, reply) => {
      const user = await userOf(request.params.username);
      const token = await tokens.get(request.params.id);
      if (!token || token.username !== user.username) throw new VigilError('VIGIL_ERR_NOT_FOUND', `user ${user.username} has no API token ${request.params.id}`);
      await tokens.revoke(token.id);
      ctx.audit.record(actor(request), 'token.revoke', null, `user:${user.username}`, { tokenId: token.id, label: token.label });
      return reply.code(204).send();
    },
  );
}
