/** The shapes of the API's answers, as the page uses them (the server's zod schemas are the contract). */
export type Severity = 'info' | 'warning' | 'critical';
export type AlertStatus = 'open' | 'acknowledged' | 'resolved';
export type Attention = 'critical' | 'warning' | 'silent' | 'info' | 'ok';

export interface SessionInfo {
  readonly user: { username: string; displayName: string; role: 'admin' | 'clinician'; careTeams: string[] };
  readonly csrfToken: string;
  readonly idleMinutes: number;
  readonly snoozeMaxHours: number;
}

export interface Alert {
  readonly id: number;
  readonly patientId: string;
  readonly ruleId: string;
  readonly subject: string;
  readonly status: AlertStatus;
  readonly severity: Severity;
  readonly title: string;
  readonly message: string;
  readonly openedAt: number;
  readonly updatedAt: number;
  readonly lastObservedAt: number;
  readonly count: number;
  readonly late: boolean;
  /** First reading of the current run back in range (measurement time). */
  readonly clearSince: number | null;
  /** A critical alert back in range for its hold time: latched, waiting for a person. */
  readonly backInRangeAt: number | null;
  readonly notifiedAt: number;
  readonly renotifyCount: number;
  readonly lastRenotifyReason: RenotifyReason | null;
  readonly latestValues: Record<string, number>;
  readonly worstValues: Record<string, number>;
  readonly acknowledgedAt: number | null;
  readonly escalationLevel: number;
  readonly acknowledgedBy: string | null;
  readonly acknowledgeNote: string | null;
  readonly resolvedBy: string | null;
  readonly resolveNote: string | null;
  readonly resolvedAt: number | null;
}

export interface LatestReading {
  readonly type: string;
  readonly time: number;
  readonly deviceId: string;
  readonly fields: Record<string, number>;
  readonly tags: Record<string, string>;
}

export interface Patient {
  readonly id: string;
  readonly name: string;
  readonly programmes: string[];
  readonly careTeam: string | null;
  /** IANA zone: trend rules count the patient's days (home BP sessions, morning weights) in it. */
  readonly timeZone: string;
}

export interface WorklistEntry {
  readonly patient: Patient;
  readonly attention: Attention;
  readonly liveAlerts: Record<Severity, number>;
  readonly unacknowledged: number;
  readonly topAlert: Pick<Alert, 'id' | 'severity' | 'title' | 'status' | 'updatedAt'> | null;
  readonly lastReadingAt: number | null;
  readonly latest: Pick<LatestReading, 'type' | 'time' | 'fields'>[];
}

export interface Worklist {
  readonly generatedAt: number;
  readonly lastSeq: number;
  readonly teams: string[];
  readonly entries: WorklistEntry[];
}

export interface Device {
  readonly id: string;
  readonly online: boolean;
  readonly battery: number | null;
  readonly firmware: string | null;
  readonly lastSeenAt: number | null;
  readonly revokedAt: number | null;
}

export interface Threshold {
  readonly readingType: string;
  readonly field: string;
  readonly op: string;
  readonly value: number;
  readonly severity: Severity;
  readonly ruleId: string;
  readonly title: string;
}

export interface PatientRecord {
  readonly patient: Patient;
  readonly devices: Device[];
  readonly latest: LatestReading[];
  readonly rules: PatientRule[];
  readonly thresholds: Threshold[];
  readonly overrides: RuleOverride[];
  readonly snoozes: Snooze[];
  readonly presets: RulePreset[];
  readonly alerts: Alert[];
}

/** A rule as it applies to the patient; the values a kind has (tiers, severity, dry weight) come with it. */
export interface PatientRule {
  readonly id: string;
  readonly title: string;
  readonly kind: string;
  readonly enabled: boolean;
  readonly source: string;
  readonly severity?: Severity;
  readonly tiers?: { severity: Severity; conditions: { field: string; op: string; value: number }[] }[];
  readonly dryWeightKg?: number;
}

export interface RuleOverride {
  readonly ruleId: string;
  readonly override: Record<string, unknown>;
  readonly actor: string;
  readonly updatedAt: number;
  readonly reason: string | null;
  readonly expiresAt: number | null;
  readonly preset: string | null;
}

export interface Snooze {
  readonly ruleId: string;
  readonly until: number;
  readonly actor: string;
  readonly note: string | null;
  readonly createdAt: number;
  readonly tier: Severity;
}

export interface RulePreset {
  readonly id: string;
  readonly ruleId: string;
  readonly title: string;
  readonly source: string;
  readonly override: Record<string, unknown>;
}

export interface Series {
  readonly type: string;
  readonly fields: string[];
  readonly bucketMs: number | null;
  readonly points: { time: number; mean: Record<string, number>; min: Record<string, number>; max: Record<string, number>; count: number }[];
}

export interface AuditEntry {
  readonly id: number;
  readonly at: number;
  readonly actor: string;
  readonly origin: string | null;
  readonly action: string;
  readonly patientId: string | null;
  readonly target: string | null;
  readonly details: unknown;
}

/** What the live channel pushes. */
/** Why an alert notified again (`change` of an `alert.renotified` event). */
export type RenotifyReason = 'event' | 'worse_tier' | 'worse_value' | 'recurred' | 'current' | 'reminder';

export type LiveMessage =
  | { type: 'ready'; seq: number; user: string }
  | { type: 'pong' }
  | { type: 'readings'; readings: (LatestReading & { patientId: string })[] }
  | { type: `alert.${string}`; seq: number; at: number; actor: string | null; change?: string; alert: Alert; patientName?: string };
