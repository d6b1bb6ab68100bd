import { z } from 'zod';

/** Dashboard roles: administrators see every patient and manage users; clinicians see their care teams. */
export const ROLES = ['admin', 'clinician'] as const;
export type Role = (typeof ROLES)[number];

const epochMs = z.number().describe('epoch milliseconds');

/** A dashboard account as administrators see it (never its password hash). */
export const userSchema = z
  .object({
    id: z.number().int(),
    username: z.string(),
    displayName: z.string(),
    role: z.enum(ROLES),
    careTeams: z.array(z.string()).readonly(),
    createdAt: epochMs,
    disabledAt: epochMs.nullable(),
    lockedUntil: epochMs.nullable(),
    lastLoginAt: epochMs.nullable(),
  })
  .meta({ id: 'User' });
export type User = z.output<typeof userSchema>;

/** Who is logged in, the CSRF token for state-changing requests, and the bounds the page offers within. */
export const sessionInfoSchema = z
  .object({
    user: userSchema.pick({ username: true, displayName: true, role: true, careTeams: true }),
    csrfToken: z.string().describe('send back as X-CSRF-Token on state-changing requests'),
    idleMinutes: z.number(),
    snoozeMaxHours: z.number().describe('the longest snooze the server accepts'),
  })
  .meta({ id: 'SessionInfo' });
export type SessionInfo = z.output<typeof sessionInfoSchema>;
