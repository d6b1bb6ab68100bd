import { z } from 'zod';
import { severitySchema } from './severity.js';

/** `open`: needs a person (new, or re-notified); `acknowledged`: a person is on it; `resolved`: closed. */
export const ALERT_STATUSES = ['open', 'acknowledged', 'resolved'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

/**
 * The transitions of the alert state machine (docs/alerts.md). `alert.updated` is a change that notifies no one
 * (a repeat, a clear timer starting); every other type is a notification a person or a webhook should see.
 */
export const ALERT_EVENT_TYPES = [
  'alert.opened',
  'alert.updated',
  'alert.renotified',
  'alert.back_in_range',
  'alert.escalated',
  'alert.acknowledged',
  'alert.resolved',
] as const;
export type AlertEventType = (typeof ALERT_EVENT_TYPES)[number];

/** Why a live alert notified again; `current`: a reading measured now confirms an alert so far from late data. */
export const RENOTIFY_REASONS = ['event', 'worse_tier', 'worse_value', 'recurred', 'current', 'reminder'] as const;
export type RenotifyReason = (typeof RENOTIFY_REASONS)[number];

/** What an `alert.updated` or `alert.renotified` event changed. */
export const ALERT_CHANGES = ['repeat', 'clearing', 'band', ...RENOTIFY_REASONS] as const;
export type AlertChange = (typeof ALERT_CHANGES)[number];

const epochMs = z.number().describe('epoch milliseconds');
const values = z.record(z.string(), z.number());

/** An alert as the API, the live channel and the webhook show it (docs/alerts.md explains each field). */
export const alertSchema = z
  .object({
    id: z.number().int(),
    patientId: z.string(),
    ruleId: z.string(),
    subject: z.string(),
    status: z.enum(ALERT_STATUSES),
    severity: severitySchema,
    title: z.string(),
    message: z.string(),
    openedAt: epochMs,
    updatedAt: epochMs,
    firstObservedAt: epochMs,
    lastObservedAt: epochMs,
    count: z.number().int(),
    latestValues: values,
    worstValues: values,
    worstScore: z.number(),
    late: z.boolean().describe('the latest abnormal finding came from readings that arrived late'),
    clearSince: epochMs.nullable().describe('measurement time of the first reading of the current run back in range'),
    backInRangeAt: epochMs.nullable().describe('a latched critical alert back in range for its hold time, waiting for a person'),
    notifiedAt: epochMs.describe('when people were last notified (opened, or re-notified): escalation and reminders count from here'),
    renotifyCount: z.number().int(),
    lastRenotifyReason: z.enum(RENOTIFY_REASONS).nullable().describe('why it last notified again (null: it has not)'),
    escalationLevel: z.number().int(),
    escalatedAt: epochMs.nullable(),
    acknowledgedAt: epochMs.nullable(),
    acknowledgedBy: z.string().nullable(),
    acknowledgeNote: z.string().nullable(),
    resolvedAt: epochMs.nullable(),
    resolvedBy: z.string().nullable(),
    resolveNote: z.string().nullable(),
  })
  .meta({ id: 'Alert' });
export type Alert = z.output<typeof alertSchema>;

/** The fields of an alert transition, shared by the API's event list and the live channel's messages. */
export const alertEventFields = {
  seq: z.number().int().describe('position in the alert feed; the live channel replays from it'),
  type: z.enum(ALERT_EVENT_TYPES),
  at: epochMs,
  actor: z.string().nullable(),
  change: z.enum(ALERT_CHANGES).optional().describe('for alert.updated and alert.renotified: what changed, or why it notified again'),
  alert: alertSchema,
};

/** One transition of an alert. */
export const alertEventSchema = z.object(alertEventFields).meta({ id: 'AlertEvent' });
export type AlertEvent = z.output<typeof alertEventSchema>;
