import { z } from 'zod';
import { alertEventFields } from './alert.js';
import { latestReadingSchema } from './reading.js';

/**
 * What the live channel (`/api/live`, a WebSocket) sends, one JSON object per message: `ready` once the missed
 * alert transitions are replayed, `pong` to the page's `ping`, batches of readings, and alert transitions.
 */
export const liveMessageSchema = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('ready'), seq: z.number().int().describe('the last alert transition sent'), user: z.string() }),
    z.object({ type: z.literal('pong') }),
    z.object({ type: z.literal('readings'), readings: z.array(latestReadingSchema.extend({ patientId: z.string() })) }),
    z.object({ ...alertEventFields, patientName: z.string().optional() }),
  ])
  // A component of the OpenAPI document, though the WebSocket route itself is not in it (OpenAPI 3 has no way to say it).
  .meta({ id: 'LiveMessage', description: 'a message of the live channel, GET /api/live?after=<seq> (WebSocket)' });
export type LiveMessage = z.output<typeof liveMessageSchema>;
