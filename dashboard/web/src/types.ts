/**
 * The shapes of the API's answers, derived from the zod schemas the server's routes declare (domain/api): one
 * contract for the server, its OpenAPI document and this page. Type-only imports: no zod code reaches the browser.
 */
import type * as api from '../../../domain/api/index.js';

export type Severity = api.Severity;
export type AlertStatus = api.AlertStatus;
export type Attention = api.Attention;
/** Why an alert notified again (`change` of an `alert.renotified` event). */
export type RenotifyReason = api.RenotifyReason;

export type SessionInfo = api.SessionInfo;
export type Alert = api.Alert;
export type LatestReading = api.LatestReading;
export type Patient = api.Patient;
export type Device = api.Device;
export type WorklistEntry = api.WorklistRow;
export type Worklist = api.Worklist;
export type PatientRecord = api.PatientRecord;
/** A rule as it applies to the patient; the values a kind has (tiers, severity, dry weight) come with it. */
export type PatientRule = api.ApiRule;
/** Where a threshold rule fires, as a line on the chart. */
export type Threshold = api.ThresholdLine;
export type RuleOverride = api.StoredRuleOverride;
export type Snooze = api.Snooze;
export type RulePreset = api.RulePreset;
export type Series = api.Series;
export type AuditEntry = api.AuditEntry;
/** What the live channel pushes. */
export type LiveMessage = api.LiveMessage;
