import { z } from 'zod';

/** A per-patient score from the latest home vitals in the style of NEWS2, plus live trend alerts (docs/reports.md). */
export const riskScoreSchema = z
  .object({
    score: z.number().int().describe('vitalsScore plus the trend points: what the worklist ranks by'),
    vitalsScore: z.number().int().describe('the sum of the NEWS2 points of the vitals scored'),
    band: z.enum(['low', 'low_medium', 'medium', 'high']).describe('NEWS2 thresholds on vitalsScore: 7+ high, 5-6 medium, a single 3 low-medium; of a partial score (home parameters only)'),
    parts: z.array(
      z.object({
        parameter: z.enum(['spo2', 'pulse', 'systolic', 'temperature']),
        label: z.string(),
        value: z.number(),
        unit: z.string(),
        points: z.number().int(),
        measuredAt: z.number(),
      }),
    ),
    stale: z.array(z.object({ parameter: z.string(), label: z.string(), measuredAt: z.number() })).describe('vitals older than maxAgeHours: shown, not scored'),
    trends: z.array(z.object({ alertId: z.number().int(), ruleId: z.string(), title: z.string(), points: z.number().int() })).describe('live trend alerts, each adding its points'),
    text: z.string().describe('the parts in words: "SpO2 91 %: 3, pulse 118 /min: 2, ..."'),
    maxAgeHours: z.number(),
    spo2Scale: z.union([z.literal(1), z.literal(2)]).describe('the NEWS2 SpO2 scale used: 2 for a patient with a clinician-set 88-92 % target (preset spo2.copd_target)'),
  })
  .meta({ id: 'RiskScore' });
export type RiskScore = z.output<typeof riskScoreSchema>;
