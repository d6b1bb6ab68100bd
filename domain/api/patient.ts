import { z } from 'zod';
import { PROGRAMMES } from '../programmes.js';

/** A patient as the API shows it. */
export const patientSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    programmes: z.array(z.enum(PROGRAMMES)).readonly(),
    careTeam: z.string().nullable(),
    /** IANA zone: trend rules count the patient's days (home BP sessions, morning weights) in it. */
    timeZone: z.string().describe("IANA time zone of the patient's home"),
    createdAt: z.number().describe('epoch milliseconds'),
    enrolledAt: z.partialRecord(z.enum(PROGRAMMES), z.number()).describe('when each programme started, epoch milliseconds'),
  })
  .meta({ id: 'Patient' });
export type Patient = z.output<typeof patientSchema>;
