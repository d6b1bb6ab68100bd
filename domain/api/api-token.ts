import { z } from 'zod';

const epochMs = z.number().describe('epoch milliseconds');

/** A personal API token as administrators see it: never the token itself, which is shown once when created. */
export const apiTokenSchema = z
  .object({
    id: z.number().int(),
    username: z.string().describe('the user the token acts as (their role and care teams, as they are at each request)'),
    label: z.string().describe('what the token is for, e.g. "EHR interface"'),
    createdAt: epochMs,
    createdBy: z.string(),
    expiresAt: epochMs.nullable(),
    lastUsedAt: epochMs.nullable().describe('written at most once a minute'),
    revokedAt: epochMs.nullable(),
  })
  .meta({ id: 'ApiToken' });
export type ApiToken = z.output<typeof apiTokenSchema>;

/** The answer to creating a token: the token, shown this once, and its record. */
export const newApiTokenSchema = z.object({
  token: z.string().describe('send as Authorization: Bearer <token>; it is not shown again'),
  apiToken: apiTokenSchema,
});
