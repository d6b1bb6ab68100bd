import { z } from 'zod';

/** A webhook delivery the receiver refused (4xx) after every retry: kept, counted, shown and replayable. */
export const parkedDeliverySchema = z
  .object({
    seq: z.number().int().describe('the alert transition it carries'),
    status: z.number().int().nullable().describe("the receiver's last HTTP status"),
    error: z.string(),
    attempts: z.number().int(),
    parkedAt: z.number().describe('epoch milliseconds'),
    replayRequested: z.boolean().describe('a person asked for it to be sent again: the sender tries it on its next round'),
  })
  .meta({ id: 'ParkedDelivery' });
export type ParkedDelivery = z.output<typeof parkedDeliverySchema>;
