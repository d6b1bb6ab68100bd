import { z } from 'zod';

/** A patient's data as one download (right of access): the manifest and each CSV file's text. */
export const patientExportSchema = z
  .object({
    manifest: z.unknown().describe('the export manifest: patient, files with their rows and SHA-256, time'),
    files: z.array(z.object({ path: z.string(), text: z.string() })),
  })
  .meta({ id: 'PatientExport' });

/** What an erasure removed; the audit log names the patient by this pseudonym only. */
export const patientErasureSchema = z
  .object({
    pseudonym: z.string(),
    removed: z.record(z.string(), z.number()),
    readings: z.number().nullable().describe('readings deleted from the reading store; null where the store does not say (InfluxDB)'),
    earlierExports: z
      .array(z.object({ at: z.number(), actor: z.string(), target: z.string().nullable() }))
      .describe("the patient's data handed out before (audit log: patient.export), outside Vigil and not erased: delete them, or ask whoever holds them to"),
    replacedData: z.array(z.string()).describe('directories `vigil restore --replace` moved aside in the data dir: they still hold the patient'),
  })
  .meta({ id: 'PatientErasure' });
