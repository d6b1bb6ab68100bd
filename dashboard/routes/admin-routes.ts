import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { auditEntrySchema, csvCell, entityIdSchema, userSchema, type AuditEntry } from '../../domain/index.js';
import { requireAdminInPerson } from '../auth/authenticate.js';
import { careTeamsSchema, passwordSchema, ROLES, usernameSchema } from '../auth/user-store.js';
import { actor, auditView, type DashboardContext } from '../context.js';
import { adminOnly, deniedUnless } from './admin-only.js';
import { responses } from './responses.js';

const newUser = z.object({
  username: usernameSchema,
  displayName: z.string().max(100).optional(),
  role: z.enum(ROLES),
  careTeams: careTeamsSchema.default([]),
  password: passwordSchema,
});
const userChange = z.object({
  displayName: z.string().max(100).optional(),
  role: z.enum(ROLES).optional(),
  careTeams: careTeamsSchema.optional(),
  disabled: z.boolean().optional(),
  password: passwordSchema.optional(),
});
const usernameParams = z.object({ username: usernameSchema });
const auditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(10_000).default(200),
  before: z.coerce.number().int().positive().optional().describe('entries with a smaller id (the next page)'),
  actor: z.string().max(100).optional(),
  patient: entityIdSchema.optional(),
  action: z.string().max(64).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
});
const oneUser = z.object({ user: userSchema });
const auditPage = z.object({
  entries: z.array(auditEntrySchema),
  next: z.number().int().optional().describe('pass as `before` for the next page; absent on the last page'),
});
const auditFile = z.string().describe('one line per entry, oldest last');
const exportQuery = auditQuery.omit({ limit: true, before: true }).extend({ format: z.enum(['csv', 'ndjson']).default('csv') });

/**
 * Entries an export reads at a time. The file is written page by page as the client takes it, so the server holds
 * about one page (and the socket's buffers), however long the log: a year's log of a busy service is millions of
 * entries, and building it whole in memory could take the server down with it.
 */
export const EXPORT_PAGE = 1000;

const CSV_HEADER = 'id,at,actor,origin,action,patient_id,target,details';
const csvLine = (e: AuditEntry) => [e.id, new Date(e.at).toISOString(), e.actor, e.origin, e.action, e.patientId, e.target, e.details].map(csvCell).join(',');
const ndjsonLine = (e: AuditEntry) => JSON.stringify({ ...e, at: new Date(e.at).toISOString() });

/**
 * The export's text, a page at a time, newest first: one line per entry after the CSV header, each ending in a
 * newline (the file as it was built whole before: the lines joined by newlines, and one at the end, so an empty
 * NDJSON export is a single newline). Pulled by the reply's stream, so the next page is read only when the client
 * has taken the last one.
 */
async function* exportText(first: AuditEntry[], next: (beforeId: number) => Promise<AuditEntry[]>, format: 'csv' | 'ndjson'): AsyncGenerator<string> {
  const line = format === 'csv' ? csvLine : ndjsonLine;
  let wrote = false;
  if (format === 'csv') {
    yield `${CSV_HEADER}\n`;
    wrote = true;
  }
  let page = first;
  for (;;) {
    if (page.length > 0) {
      yield `${page.map(line).join('\n')}\n`;
      wrote = true;
    }
    if (page.length < EXPORT_PAGE) break;
    page = await next(page.at(-1)!.id);
  }
  if (!wrote) yield '\n';
}

/** Administrators: user accounts and the audit log (view, page, filter, export). */
export async function registerAdminRoutes(app: FastifyInstance, ctx: DashboardContext): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.addHook('onRequest', adminOnly(ctx));

  api.get(
    '/api/users',
    { schema: { tags: ['admin'], summary: 'Dashboard users', response: responses({ 200: z.object({ users: z.array(userSchema) }) }, 401, 403) } },
    async () => ({ users: await ctx.users.list() }),
  );

  const userAdd = { tags: ['admin'], summary: 'Create a user', body: newUser, response: responses({ 201: oneUser }, 400, 401, 403, 409) };
  api.post('/api/users', { schema: userAdd }, async (request, reply) => {
    deniedUnless(ctx, request, requireAdminInPerson);
    const user = await ctx.users.add(request.body);
    ctx.audit.record(actor(request), 'user.add', null, `user:${user.username}`, { role: user.role, careTeams: user.careTeams });
    return reply.code(201).send({ user });
  });

  const userChangeSchema = {
    tags: ['admin'],
    summary: 'Change role, care teams, name or password; disable or enable',
    params: usernameParams,
    body: userChange,
    response: responses({ 200: oneUser }, 400, 401, 403, 404),
  };
  api.patch('/api/users/:username', { schema: userChangeSchema }, async (request) => {
    deniedUnless(ctx, request, requireAdminInPerson);
    const { username } = request.params;
    const { password, disabled, ...changes } = request.body;
    // One transaction: a change refused halfway (a database refusing one of its writes) leaves nothing made and
    // nothing to audit, never a new role without its audit entry.
    const { user, ended } = await ctx.users.change(username, request.body);
    // A reset and a disabling at once revoke the tokens once: the reset's reason names it, as it came first before.
    const reason = password !== undefined ? 'password-reset' : 'user-disabled';
    const by = actor(request);
    // What the account now has, for each field the request named: the store folds repeated teams and keeps the name
    // when the one sent is blank, and the log must say what was made, not what was asked.
    const made = {
      ...(changes.role === undefined ? {} : { role: user.role }),
      ...(changes.careTeams === undefined ? {} : { careTeams: user.careTeams }),
      ...(changes.displayName?.trim() ? { displayName: user.displayName } : {}),
    };
    ctx.audit.record(by, 'user.change', null, `user:${user.username}`, { ...made, disabled, passwordChanged: password !== undefined, sessionsEnded: ended.sessions, tokensRevoked: ended.tokenIds });
    // Each token the reset or disabling revoked is also a `token.revoke` of its own, as one revoked by hand is:
    // whoever follows a token through the log finds when and why it stopped.
    for (const tokenId of ended.tokenIds) ctx.audit.record(by, 'token.revoke', null, `user:${user.username}`, { tokenId, reason });
    return { user };
  });

  const filterOf = (q: z.infer<typeof exportQuery> | z.infer<typeof auditQuery>) => ({
    actor: q.actor,
    patientId: q.patient,
    action: q.action,
    since: q.since ? Date.parse(q.since) : undefined,
    until: q.until ? Date.parse(q.until) : undefined,
  });

  const auditList = { tags: ['admin'], summary: 'The audit log, newest first', querystring: auditQuery, response: responses({ 200: auditPage }, 400, 401, 403) };
  api.get('/api/audit', { schema: auditList }, async (request) => {
    const q = request.query;
    const entries = await ctx.auditTrail.list({ ...filterOf(q), limit: q.limit, beforeId: q.before });
    // The log holds patient ids, notes and reasons: reading it is an access like its export (audit.export), with
    // the same repeat rule as any view (the same session, filter and page within 10 minutes is one entry).
    const filter = filterOf(q);
    auditView(ctx, request, 'audit.view', q.patient ?? null, null, JSON.stringify([filter, q.limit, q.before]), { ...filter, before: q.before, count: entries.length });
    return { entries, next: entries.length === q.limit ? entries.at(-1)?.id : undefined };
  });

  const exportSchema = {
    tags: ['admin'],
    summary: 'The audit log as CSV or NDJSON (a download)',
    querystring: exportQuery,
    response: responses(
      { 200: { description: 'the audit log', content: { 'text/csv': { schema: auditFile }, 'application/x-ndjson': { schema: auditFile } } } },
      400,
      401,
      403,
    ),
  };
  api.get('/api/audit/export', { schema: exportSchema }, async (request, reply) => {
    const q = request.query;
    ctx.audit.record(actor(request), 'audit.export', q.patient ?? null, null, filterOf(q));
    const filter = filterOf(q);
    // The first page is read before the answer starts: a database that does not answer is still a proper error
    // (503 with Retry-After, say), not a download cut short. A later failure can only end the stream early.
    const first = await ctx.auditTrail.list({ ...filter, limit: EXPORT_PAGE });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    // The charset spelled out: Fastify added it to the text it was given before, and does not to a stream.
    reply.header('content-type', q.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
    reply.header('content-disposition', `attachment; filename="vigil-audit-${stamp}.${q.format === 'csv' ? 'csv' : 'ndjson'}"`);
    // A byte stream (not object mode, whose buffer would hold 16 pages ahead): one page over the high-water mark
    // stops the reading until the client takes it. A client that goes away ends the generator, and its reads.
    const text = exportText(first, (beforeId) => ctx.auditTrail.list({ ...filter, limit: EXPORT_PAGE, beforeId }), q.format);
    // The documented body is the file's text; its typed reply takes only a string, and a stream is how it is sent.
    return (reply as FastifyReply).send(Readable.from(text, { objectMode: false }));
  });
}
