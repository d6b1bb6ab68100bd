import { z } from 'zod';

/** One line of the audit log. */
export const auditEntrySchema = z
  .object({
    id: z.number().int(),
    at: z.number().describe('epoch milliseconds'),
    actor: z.string().describe('user:<name>, or admin / admin:<X-Vigil-Actor> for the API token'),
    origin: z.string().nullable().describe('the client address'),
    action: z.string(),
    patientId: z.string().nullable(),
    target: z.string().nullable(),
    details: z.unknown(),
  })
  .meta({ id: 'AuditEntry' });
export type AuditEntry = z.output<typeof auditEntrySchema>;
