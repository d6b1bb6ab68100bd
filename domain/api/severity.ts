import { z } from 'zod';

/** How urgent an alert or a rule tier is, least urgent first. */
export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export const severitySchema = z.enum(SEVERITIES);
export type Severity = z.output<typeof severitySchema>;
