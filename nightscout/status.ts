import { z } from 'zod';

/**
 * The Nightscout release whose API v1 answers these routes follow. Uploaders read `version` from the status:
 * xDrip+ refuses its treatment download below 0.9, AndroidAPS and Loop compare it with the release that brought a
 * feature. It names the API level, not Vigil's version (that is `vigil`).
 */
export const NIGHTSCOUT_API_LEVEL = '15.0.0';

export const nightscoutStatusSchema = z
  .looseObject({
    status: z.literal('ok'),
    name: z.string(),
    version: z.string().describe('the Nightscout API level these routes follow'),
    vigil: z.literal(true),
    serverTime: z.string(),
    serverTimeEpoch: z.number(),
    apiEnabled: z.boolean(),
    careportalEnabled: z.boolean(),
    boluscalcEnabled: z.boolean(),
    settings: z.looseObject({ units: z.literal('mg/dl'), enable: z.array(z.string()) }),
    extendedSettings: z.looseObject({}),
    authorized: z.null(),
  })
  .describe('Nightscout status (lib/api/status.js shape)');

/** GET /api/v1/status(.json): what the apps probe before they upload. Values in entries are mg/dL, always. */
export function nightscoutStatus(now = new Date()): z.output<typeof nightscoutStatusSchema> {
  return {
    status: 'ok',
    name: 'Vigil',
    version: NIGHTSCOUT_API_LEVEL,
    vigil: true,
    serverTime: now.toISOString(),
    serverTimeEpoch: now.getTime(),
    apiEnabled: true,
    // Treatments are taken (finger-stick glucose from them): xDrip+ uploads treatments only to a care portal.
    careportalEnabled: true,
    boluscalcEnabled: false,
    settings: { units: 'mg/dl', enable: ['careportal'] },
    extendedSettings: {},
    authorized: null,
  };
}
