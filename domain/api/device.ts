import { z } from 'zod';

/** A device as the API shows it: its assignment and its last status message. Times are epoch milliseconds. */
export const deviceSchema = z
  .object({
    id: z.string(),
    kind: z.enum(['device', 'hub']).describe('a hub also receives reminders and messages (docs/hub-protocol.md)'),
    patientId: z.string().nullable(),
    createdAt: z.number(),
    revokedAt: z.number().nullable(),
    online: z.boolean(),
    battery: z.number().nullable().describe('percent'),
    firmware: z.string().nullable(),
    lastSeenAt: z.number().nullable(),
    statusAt: z.number().nullable(),
    assignedAt: z.number().nullable(),
    /** A declared warm-up (a new CGM sensor): no reading is expected before it ends. */
    warmUpUntil: z.number().nullable(),
  })
  .meta({ id: 'Device' });
export type Device = z.output<typeof deviceSchema>;
