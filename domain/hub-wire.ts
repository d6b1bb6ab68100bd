import { z } from 'zod';
import { checkinAnswersSchema, checkinQuestionnaireWireSchema } from './checkin-wire.js';
import { READING_TYPES } from './reading-types.js';

/**
 * The hub protocol's payloads (docs/hub-protocol.md): what Vigil puts in a hub's inbox and what the hub answers on
 * its replies topic. Version 1; a hub ignores keys it does not know, so fields can be added without a new version.
 */
export const HUB_WIRE_VERSION = 1;

const instant = z.iso.datetime({ offset: true });
const shortText = (max: number) => z.string().trim().min(1).max(max);

/** What every inbox message carries: expiry is in the payload because MQTT 3.1.1 has no message expiry. */
const inboxCommon = {
  v: z.literal(HUB_WIRE_VERSION),
  id: z.string().min(1).max(64),
  created: instant,
  expiresAt: instant,
};

/** An education item the care team attached to the plan or to an alert rule (docs/hub-protocol.md). */
export const educationWireSchema = z.object({
  id: z.string().min(1).max(64),
  title: z.string().min(1).max(120),
  body: z.string().min(1).max(1000),
  link: z.url().max(500).optional(),
});
export type EducationWire = z.output<typeof educationWireSchema>;
/** Sent with reminders (the plan's items) and with a message about an alert (its rule's items). */
const education = z.array(educationWireSchema).max(5).optional();

export const inboxMessageSchema = z.discriminatedUnion('kind', [
  z.object({
    ...inboxCommon,
    kind: z.literal('measure_reminder'),
    measurement: z.enum(READING_TYPES),
    dueAt: instant,
    /** Reading tags the plan asks for (e.g. glucose: {"mealContext": "fasting"}). */
    note: z.string().max(200).optional(),
    education,
  }),
  z.object({
    ...inboxCommon,
    kind: z.literal('medication_reminder'),
    medication: z.object({ id: z.string(), name: z.string(), dose: z.string() }),
    dueAt: instant,
    /** After this the dose counts as missed unless the hub answered. */
    windowEndsAt: instant,
    education,
  }),
  z.object({
    ...inboxCommon,
    kind: z.literal('message'),
    text: z.string().min(1).max(2000),
    from: z.string().max(200),
    /** A clinician's request to measure again now (the hub offers to). */
    measure: z.enum(READING_TYPES).optional(),
    education,
  }),
  z.object({
    ...inboxCommon,
    kind: z.literal('checkin'),
    questionnaire: checkinQuestionnaireWireSchema,
    dueAt: instant,
  }),
]);
export type InboxMessage = z.output<typeof inboxMessageSchema>;
export type InboxKind = InboxMessage['kind'];

/** Receipts for any inbox message; answers for medication reminders and check-ins; a text from the patient. */
export const REPLY_TYPES = ['delivered', 'read', 'taken', 'skipped', 'snoozed', 'message', 'checkin'] as const;
export type ReplyType = (typeof REPLY_TYPES)[number];

const replyCommon = {
  v: z.literal(HUB_WIRE_VERSION),
  /** When the patient acted, by the hub's clock. */
  at: instant,
};

export const hubReplySchema = z.discriminatedUnion('type', [
  z.object({ ...replyCommon, type: z.enum(['delivered', 'read', 'taken', 'skipped']), ref: z.string().min(1).max(64) }),
  z.object({ ...replyCommon, type: z.literal('snoozed'), ref: z.string().min(1).max(64), minutes: z.number().int().min(1).max(240).default(10) }),
  z.object({ ...replyCommon, type: z.literal('message'), ref: z.string().min(1).max(64).optional(), text: shortText(2000) }),
  z.object({ ...replyCommon, type: z.literal('checkin'), ref: z.string().min(1).max(64), answers: checkinAnswersSchema }),
]);
export type HubReply = z.output<typeof hubReplySchema>;

/**
 * The expiry of an inbox payload (epoch ms), read without trusting its shape: the broker drops an expired
 * message rather than deliver it late (an 08:00 reminder is wrong at 15:00). Undefined when there is none.
 */
export function inboxExpiresAt(payload: Buffer | string): number | undefined {
  try {
    const parsed: unknown = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
    const value = typeof parsed === 'object' && parsed !== null ? (parsed as { expiresAt?: unknown }).expiresAt : undefined;
    const at = typeof value === 'string' ? Date.parse(value) : Number.NaN;
    return Number.isFinite(at) ? at : undefined;
  } catch {
    return undefined;
  }
}
