import { isIP } from 'node:net';
import { readFileSync } from 'node:fs';
import { checkTlsFiles } from './tls-files.js';
import { resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_TOPIC_PREFIX, timeZoneSchema, topicPrefixSchema, VigilError } from '../domain/index.js';
import type { InfluxConnection } from '../ingest/index.js';
import type { SessionSettings } from '../dashboard/index.js';
import { isSecretVariable, resolveSecretFiles } from './secret-files.js';
import type { RetentionPolicy } from '../lifecycle/index.js';

const port = z.coerce.number().int().min(0).max(65_535);
const positiveInt = z.coerce.number().int().min(1);
const retentionDays = z.coerce.number().int().min(0).max(36_500);
const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v));
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/**
 * Which proxies may name the client address (X-Forwarded-For): none, or the proxies' addresses and CIDR ranges.
 * "true" (any client) would let anyone forge the address the audit log and the login limits rely on, and a hop
 * count cannot check who is talking (Fastify 5 ignores it), so both are refused with the alternative.
 */
const trustProxy = z
  .string()
  .trim()
  .transform((v, ctx): false | string[] => {
    if (v === '' || v === 'false' || v === '0' || v === 'no') return false;
    if (v === 'true' || v === 'yes' || /^\d+$/.test(v)) {
      ctx.addIssue({ code: 'custom', message: "give your proxies' addresses or CIDR ranges (e.g. 10.0.0.5,10.1.0.0/16): trusting any client, or a hop count, lets a client forge its address" });
      return z.NEVER;
    }
    const list = v.split(/[\s,]+/).filter(Boolean);
    const bad = list.find((a) => !isIP(a.split('/')[0]!) || (a.includes('/') && !/^\d{1,3}$/.test(a.split('/')[1]!)));
    if (bad) {
      ctx.addIssue({ code: 'custom', message: `"${bad}" is not an IP address or CIDR range` });
      return z.NEVER;
    }
    return list;
  });

/**
 * postgres://user:password@host:5432/db?sslmode=verify-full. `no-verify` and `prefer` are refused: the first
 * accepts any server certificate, the second falls back to no encryption; `disable` says so plainly. So is a URL
 * without sslmode: node-postgres then connects in clear, where libpq users expect it to try TLS first.
 */
const databaseUrl = z
  .url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL, e.g. postgres://vigil:secret@db:5432/vigil?sslmode=verify-full' })
  .refine(
    (v) => ['verify-full', 'verify-ca', 'require', 'disable'].includes(new URL(v).searchParams.get('sslmode') ?? ''),
    'sslmode must be verify-full, verify-ca, require or disable (disable only for a database on this host or a private network)',
  );

/** Every setting, its variable and default. docs/configuration.md is the reference for operators. */
export const configSchema = z
  .object({
    VIGIL_BIND_HOST: z.string().min(1).default('0.0.0.0'),
    VIGIL_MQTT_PORT: port.default(1883),
    VIGIL_MQTTS_PORT: port.default(8883),
    VIGIL_HTTP_PORT: port.default(8080),
    VIGIL_TLS_CERT: optionalText,
    VIGIL_TLS_KEY: optionalText,
    VIGIL_TLS_CA: optionalText,
    VIGIL_HTTP_TLS: bool.default(false),
    VIGIL_DATA_DIR: z.string().min(1).default('./data'),
    VIGIL_INFLUX_URL: optionalText.pipe(z.url({ protocol: /^https?$/ }).optional()),
    VIGIL_INFLUX_DB: z.string().min(1).default('vigil'),
    VIGIL_INFLUX_RETENTION_POLICY: optionalText,
    VIGIL_INFLUX_RETENTION_DURATION: optionalText.pipe(
      z.string().regex(/^(INF|[1-9]\d*[hdw])$/, 'must be INF or a duration like 8760h, 3653d or 522w').optional(),
    ),
    VIGIL_INFLUX_USER: optionalText,
    VIGIL_INFLUX_PASSWORD: optionalText,
    VIGIL_INFLUX_TOKEN: optionalText,
    VIGIL_INFLUX_TIMEOUT_MS: positiveInt.default(10_000),
    VIGIL_INFLUX_GZIP: bool.optional(),
    // Shared state in PostgreSQL (docs/deployment.md); unset, the embedded SQLite database in the data dir.
    VIGIL_DATABASE_URL: optionalText.pipe(databaseUrl.optional()),
    VIGIL_TOPIC_PREFIX: topicPrefixSchema.default(DEFAULT_TOPIC_PREFIX),
    VIGIL_MAX_PAYLOAD_BYTES: positiveInt.max(16 * 1024 * 1024).default(256 * 1024),
    VIGIL_MAX_BATCH: positiveInt.max(100_000).default(1000),
    VIGIL_MAX_INFLIGHT_BYTES: positiveInt.min(65_536).default(16 * 1024 * 1024),
    VIGIL_DEVICE_RATE: z.coerce.number().positive().default(20),
    VIGIL_DEVICE_BURST: positiveInt.default(100),
    VIGIL_DEVICE_MAX_WAIT_MS: z.coerce.number().int().min(0).default(5_000),
    VIGIL_MQTT_MAX_CONNECTIONS: positiveInt.max(1_000_000).default(10_000),
    VIGIL_MQTT_MAX_CONNECTIONS_PER_ADDRESS: positiveInt.max(1_000_000).default(1_000),
    VIGIL_MQTT_CONNECT_TIMEOUT_MS: positiveInt.min(500).max(120_000).default(5_000),
    VIGIL_MAX_SESSIONS_PER_DEVICE: positiveInt.max(100).default(4),
    VIGIL_MQTT_AUTH_FAILURES_PER_MINUTE: positiveInt.max(100_000).default(10),
    VIGIL_MQTT_DEVICE_AUTH_FAILURES_PER_MINUTE: positiveInt.max(100_000).default(20),
    VIGIL_MQTT_WS_ORIGINS: optionalText.pipe(
      z
        .string()
        .regex(/^(\*|https?:\/\/[^\s,/]+(,https?:\/\/[^\s,/]+)*)$/, 'must be * or a comma-separated list of origins such as https://hub.example.org')
        .optional(),
    ),
    VIGIL_FUTURE_TOLERANCE_SECONDS: z.coerce.number().int().min(0).default(300),
    VIGIL_MAX_READING_AGE_DAYS: positiveInt.default(365),
    VIGIL_LATE_AFTER_SECONDS: positiveInt.default(900),
    VIGIL_SHIP_BATCH: positiveInt.max(50_000).default(5000),
    VIGIL_STORE_RETRY_MAX_MS: positiveInt.default(30_000),
    VIGIL_ADMIN_TOKEN: optionalText.pipe(z.string().min(24, 'must be at least 24 characters (e.g. openssl rand -hex 24)').optional()),
    VIGIL_ALERT_WEBHOOK_URL: optionalText.pipe(z.url({ protocol: /^https?$/ }).optional()),
    // One secret, or several separated by spaces (newest first) while a receiver rotates to a new one.
    VIGIL_ALERT_WEBHOOK_SECRET: optionalText.pipe(
      z
        .string()
        .refine((v) => v.split(/[\s,]+/).filter(Boolean).every((s) => s.length >= 16), 'each secret must be at least 16 characters')
        .optional(),
    ),
    VIGIL_ALERT_WEBHOOK_TIMEOUT_MS: positiveInt.default(10_000),
    // Deliveries in flight at once; each patient's events stay in order (docs/alerts.md, "Webhook"). 1: all in order.
    VIGIL_ALERT_WEBHOOK_CONCURRENCY: positiveInt.max(64).default(8),
    VIGIL_ALERT_ESCALATE_MINUTES: z.coerce.number().positive().default(15),
    VIGIL_ALERT_SWEEP_CRON: z.string().min(1).default('*/30 * * * * *'),
    VIGIL_CARE_CRON: z.string().min(1).default('0 * * * * *'),
    // Vigil defaults (docs/alerts.md): a persisting acknowledged condition is brought back to a person.
    VIGIL_ALERT_REALERT_CRITICAL_HOURS: z.coerce.number().min(0).default(4),
    VIGIL_ALERT_REALERT_WARNING_HOURS: z.coerce.number().min(0).default(24),
    VIGIL_ALERT_REALERT_INFO_HOURS: z.coerce.number().min(0).default(0),
    VIGIL_ALERT_SNOOZE_MAX_HOURS: z.coerce.number().positive().max(168).default(24),
    VIGIL_ALERT_LATE_AFTER_MINUTES: z.coerce.number().positive().default(60),
    VIGIL_REJECTION_RETENTION_DAYS: z.coerce.number().positive().max(3650).default(30),
    VIGIL_REJECTION_PAYLOAD_MAX_BYTES: z.coerce.number().int().min(0).max(16 * 1024 * 1024).default(256 * 1024),
    VIGIL_REJECTION_PAYLOADS_MAX_MB: z.coerce.number().min(0).max(100_000).default(256),
    VIGIL_CLOCK_SKEW_MINUTES: z.coerce.number().positive().max(24 * 60).default(2),
    VIGIL_CLOCK_SKEW_MIN_DEVICES: positiveInt.max(10_000).default(3),
    // Retention in days, 0 = kept for ever (docs/operations.md, "Backups and retention", gives the reasons).
    VIGIL_RETENTION_AUDIT_DAYS: retentionDays.default(2192),
    VIGIL_RETENTION_DEAD_LETTER_DAYS: retentionDays.default(365),
    VIGIL_RETENTION_RESOLVED_ALERT_DAYS: retentionDays.default(3653),
    VIGIL_RETENTION_READING_DAYS: retentionDays.default(0),
    VIGIL_RETENTION_CARE_DAYS: retentionDays.default(3653),
    VIGIL_RETENTION_CRON: z.string().min(1).default('0 17 3 * * *'),
    VIGIL_RETENTION_BATCH: positiveInt.max(100_000).default(500),
    VIGIL_SESSION_IDLE_MINUTES: z.coerce.number().positive().max(24 * 60).default(15),
    VIGIL_SESSION_MAX_HOURS: z.coerce.number().positive().max(24 * 7).default(12),
    VIGIL_LOGIN_MAX_FAILURES: positiveInt.max(100).default(5),
    VIGIL_LOGIN_LOCKOUT_MINUTES: z.coerce.number().positive().default(15),
    VIGIL_LOGIN_RATE_PER_MINUTE: positiveInt.max(10_000).default(30),
    VIGIL_API_RATE_PER_MINUTE: positiveInt.max(1_000_000).default(600),
    VIGIL_SECURE_COOKIE: bool.optional(),
    VIGIL_TRUST_PROXY: trustProxy.default(false),
    VIGIL_SILENT_AFTER_HOURS: z.coerce.number().positive().default(24),
    VIGIL_DEFAULT_TIME_ZONE: timeZoneSchema.default('UTC'),
    // Set by the container image build (docker build --build-arg VIGIL_COMMIT=...): vigil_build_info's commit.
    VIGIL_BUILD_COMMIT: optionalText.pipe(z.string().regex(/^[0-9a-f]{7,40}$/, 'must be a git commit hash').optional()),
    // Worker mode (docs/operations.md "Scale-out"): an external broker instead of the embedded one.
    VIGIL_BROKER_URL: optionalText.pipe(
      z
        .url({ protocol: /^mqtts?$/ })
        .refine((v) => !new URL(v).username && !new URL(v).password, 'must not carry credentials: use VIGIL_BROKER_USERNAME and VIGIL_BROKER_PASSWORD(_FILE)')
        .optional(),
    ),
    VIGIL_BROKER_CLIENT_ID: optionalText.pipe(z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'must be 1-128 letters, digits, ".", "_" or "-", fixed per worker').optional()),
    VIGIL_BROKER_USERNAME: optionalText,
    VIGIL_BROKER_PASSWORD: optionalText,
    VIGIL_BROKER_CA: optionalText,
    VIGIL_BROKER_CERT: optionalText,
    VIGIL_BROKER_KEY: optionalText,
    VIGIL_BROKER_SHARE_GROUP: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, "_" or "-"').default('vigil'),
    // MQTT 5 session expiry: how long the broker keeps a stopped worker's unacknowledged messages (default 7 days).
    VIGIL_BROKER_SESSION_EXPIRY_SECONDS: positiveInt.max(4_294_967_295).default(7 * 24 * 3600),
    VIGIL_BROKER_CONNECT_TIMEOUT_MS: positiveInt.min(1_000).max(600_000).default(30_000),
    // Which MQTT version a worker speaks to its broker: 5, falling back to 3.1.1 when refused (auto), or one only.
    VIGIL_BROKER_PROTOCOL: z.enum(['auto', '5', '3.1.1'], { error: 'must be auto, 5 or 3.1.1' }).default('auto'),
    // Messages a worker holds between arrival and PUBACK; the MQTT 5 Receive Maximum is a 16-bit count.
    VIGIL_WORKER_MAX_INFLIGHT: positiveInt.max(65_535).default(1_000),
    // Mosquitto's dynamic-security plugin: Vigil provisions device logins and topic roles at the broker.
    VIGIL_BROKER_DYNSEC: bool.default(false),
    VIGIL_BROKER_DYNSEC_USERNAME: optionalText,
    VIGIL_BROKER_DYNSEC_PASSWORD: optionalText,
    // Whether this worker (and the CLI on its data dir) pushes device logins to the broker: on in exactly one.
    VIGIL_BROKER_DYNSEC_SYNC: z.enum(['on', 'off'], { error: 'must be on or off' }).optional(),
    // EMQX / VerneMQ: the secret the broker sends when it calls Vigil's authentication and authorisation hooks.
    VIGIL_BROKER_HOOK_SECRET: optionalText.pipe(z.string().min(24, 'must be at least 24 characters (e.g. openssl rand -hex 24)').optional()),
    VIGIL_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .superRefine((c, ctx) => {
    if (Boolean(c.VIGIL_TLS_CERT) !== Boolean(c.VIGIL_TLS_KEY)) {
      ctx.addIssue({ code: 'custom', path: ['VIGIL_TLS_KEY'], message: 'VIGIL_TLS_CERT and VIGIL_TLS_KEY go together' });
    }
    if (c.VIGIL_HTTP_TLS && !c.VIGIL_TLS_CERT) {
      ctx.addIssue({ code: 'custom', path: ['VIGIL_HTTP_TLS'], message: 'needs VIGIL_TLS_CERT and VIGIL_TLS_KEY' });
    }
    if (c.VIGIL_ALERT_WEBHOOK_URL && !c.VIGIL_ALERT_WEBHOOK_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['VIGIL_ALERT_WEBHOOK_SECRET'], message: 'is required with VIGIL_ALERT_WEBHOOK_URL (deliveries are signed)' });
    }
    if (c.VIGIL_BROKER_URL && !c.VIGIL_BROKER_CLIENT_ID) {
      ctx.addIssue({ code: 'custom', path: ['VIGIL_BROKER_CLIENT_ID'], message: "is required with VIGIL_BROKER_URL: a fixed id per worker keeps its session (and what it has not acknowledged) across restarts" });
    }
    if (Boolean(c.VIGIL_BROKER_CERT) !== Boolean(c.VIGIL_BROKER_KEY)) {
      ctx.addIssue({ code: 'custom', path: ['VIGIL_BROKER_KEY'], message: 'VIGIL_BROKER_CERT and VIGIL_BROKER_KEY go together' });
    }
    if (c.VIGIL_BROKER_DYNSEC) {
      for (const name of ['VIGIL_BROKER_DYNSEC_USERNAME', 'VIGIL_BROKER_DYNSEC_PASSWORD'] as const) {
        if (!c[name]) ctx.addIssue({ code: 'custom', path: [name], message: "is required with VIGIL_BROKER_DYNSEC (the dynamic-security plugin's administrator, e.g. from `mosquitto_ctrl dynsec init`)" });
      }
    }
    if (c.VIGIL_BROKER_DYNSEC_SYNC && !c.VIGIL_BROKER_DYNSEC) {
      ctx.addIssue({ code: 'custom', path: ['VIGIL_BROKER_DYNSEC_SYNC'], message: 'has no effect without VIGIL_BROKER_DYNSEC' });
    }
    const brokerOnly = ['VIGIL_BROKER_CLIENT_ID', 'VIGIL_BROKER_USERNAME', 'VIGIL_BROKER_PASSWORD', 'VIGIL_BROKER_CA', 'VIGIL_BROKER_CERT', 'VIGIL_BROKER_DYNSEC', 'VIGIL_BROKER_HOOK_SECRET'] as const;
    for (const name of brokerOnly) {
      if (c[name] && !c.VIGIL_BROKER_URL) ctx.addIssue({ code: 'custom', path: [name], message: 'has no effect without VIGIL_BROKER_URL' });
    }
    if (c.VIGIL_INFLUX_TOKEN && c.VIGIL_INFLUX_USER) {
      ctx.addIssue({ code: 'custom', path: ['VIGIL_INFLUX_TOKEN'], message: 'set a token or a user and password, not both' });
    }
  });

export type RawConfig = z.output<typeof configSchema>;

export interface VigilConfig {
  readonly host: string;
  readonly mqttPort: number;
  readonly httpPort: number;
  readonly tls: { readonly port: number; readonly cert: Buffer; readonly key: Buffer; readonly ca?: Buffer | undefined; readonly http: boolean } | undefined;
  readonly dataDir: string;
  readonly influx: (InfluxConnection & { readonly timeoutMs: number }) | undefined;
  readonly topicPrefix: string;
  readonly limits: { readonly maxPayloadBytes: number; readonly maxBatch: number; readonly maxInFlightBytes: number };
  readonly rate: { readonly perSecond: number; readonly burst: number; readonly maxWaitMs: number };
  /** Availability limits of the MQTT side (docs/security.md). */
  readonly mqtt: {
    readonly maxConnections: number;
    readonly maxConnectionsPerAddress: number;
    readonly connectTimeoutMs: number;
    readonly maxSessionsPerDevice: number;
    readonly authFailuresPerMinutePerAddress: number;
    readonly authFailuresPerMinutePerDevice: number;
    readonly webSocketOrigins: readonly string[] | '*';
  };
  readonly timing: { readonly futureToleranceMs: number; readonly maxAgeMs: number; readonly lateAfterMs: number };
  readonly shipBatchSize: number;
  /** Cap of the shipper's exponential backoff while the reading store is unavailable. */
  readonly storeRetryMaxMs: number;
  /** Rejected payloads kept for replay: largest per publish, and in all. */
  readonly rejectionPayloads: { readonly maxBytes: number; readonly maxTotalBytes: number };
  /** When several devices' readings are this far ahead of the server clock, /readyz reports the clock degraded. */
  readonly clockSkew: { readonly thresholdMs: number; readonly minDevices: number };
  /** What the scheduled retention run deletes, when, and in batches of how many rows. */
  readonly retention: { readonly policy: RetentionPolicy; readonly cron: string; readonly batchSize: number };
  readonly adminToken: string | undefined;
  /** PostgreSQL for the shared state (identity, in this stage); undefined keeps it in the SQLite state database. */
  readonly databaseUrl: string | undefined;
  readonly alerts: {
    readonly webhook: { readonly url: string; readonly secret: string; readonly timeoutMs: number; readonly concurrency: number } | undefined;
    readonly escalateAfterMinutes: number;
    readonly sweepCron: string;
    readonly realertHours: { readonly critical: number; readonly warning: number; readonly info: number };
    readonly snoozeMaxHours: number;
    readonly lateAfterMinutes: number;
  };
  /** node-cron schedule (with seconds) of the care loop's tick: reminders to measure and take medication. */
  readonly careCron: string;
  readonly dashboard: SessionSettings & { readonly trustProxy: false | readonly string[] };
  /** IANA zone of a patient added without one (their rules' "morning" and "day" are in it). */
  readonly defaultTimeZone: string;
  /** Worker mode: the external broker the devices connect to; undefined runs the embedded broker. */
  readonly broker: BrokerSettings | undefined;
  readonly logLevel: RawConfig['VIGIL_LOG_LEVEL'];
  /** The source commit the running build was made from, when the build recorded it. */
  readonly buildCommit: string | undefined;
}

export interface BrokerSettings {
  readonly url: string;
  readonly clientId: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly tls: { readonly ca: Buffer | undefined; readonly cert: Buffer | undefined; readonly key: Buffer | undefined } | undefined;
  readonly shareGroup: string;
  readonly sessionExpirySeconds: number;
  readonly connectTimeoutMs: number;
  /** VIGIL_BROKER_PROTOCOL: 'auto' (MQTT 5, else 3.1.1), 5 or 4 (3.1.1). */
  readonly protocol: 'auto' | 5 | 4;
  /** VIGIL_WORKER_MAX_INFLIGHT: messages held between arrival and PUBACK, and the MQTT 5 Receive Maximum. */
  readonly receiveMaximum: number;
  /**
   * Mosquitto's dynamic-security administrator: set when Vigil provisions device logins at the broker. `sync`
   * false (VIGIL_BROKER_DYNSEC_SYNC=off): another worker's data dir is the one that pushes them.
   */
  readonly dynsec: { readonly username: string; readonly password: string; readonly sync: boolean } | undefined;
  /** EMQX / VerneMQ: the shared secret of the HTTP hooks Vigil serves them; undefined serves none. */
  readonly hookSecret: string | undefined;
}

function brokerSettings(c: RawConfig): BrokerSettings | undefined {
  if (!c.VIGIL_BROKER_URL || !c.VIGIL_BROKER_CLIENT_ID) return undefined;
  const pem = (variable: 'VIGIL_BROKER_CA' | 'VIGIL_BROKER_CERT' | 'VIGIL_BROKER_KEY') => (c[variable] ? readPem(variable, c[variable]) : undefined);
  const tls = c.VIGIL_BROKER_CA || c.VIGIL_BROKER_CERT ? { ca: pem('VIGIL_BROKER_CA'), cert: pem('VIGIL_BROKER_CERT'), key: pem('VIGIL_BROKER_KEY') } : undefined;
  return {
    url: c.VIGIL_BROKER_URL,
    clientId: c.VIGIL_BROKER_CLIENT_ID,
    username: c.VIGIL_BROKER_USERNAME,
    password: c.VIGIL_BROKER_PASSWORD,
    tls,
    shareGroup: c.VIGIL_BROKER_SHARE_GROUP,
    sessionExpirySeconds: c.VIGIL_BROKER_SESSION_EXPIRY_SECONDS,
    connectTimeoutMs: c.VIGIL_BROKER_CONNECT_TIMEOUT_MS,
    receiveMaximum: c.VIGIL_WORKER_MAX_INFLIGHT,
    protocol: c.VIGIL_BROKER_PROTOCOL === 'auto' ? 'auto' : c.VIGIL_BROKER_PROTOCOL === '5' ? 5 : 4,
    dynsec:
      c.VIGIL_BROKER_DYNSEC && c.VIGIL_BROKER_DYNSEC_USERNAME && c.VIGIL_BROKER_DYNSEC_PASSWORD
        ? { username: c.VIGIL_BROKER_DYNSEC_USERNAME, password: c.VIGIL_BROKER_DYNSEC_PASSWORD, sync: c.VIGIL_BROKER_DYNSEC_SYNC !== 'off' }
        : undefined,
    hookSecret: c.VIGIL_BROKER_HOOK_SECRET,
  };
}

function readPem(variable: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new VigilError('VIGIL_ERR_CONFIG', `${variable}: cannot read ${path}: ${(err as Error).message}`);
  }
}

/** Enough of a bad value to recognise it: a value of 64 KB pasted by mistake is not repeated in full. */
const SHOWN_CHARS = 200;

function quotedStart(value: string): string {
  return value.length <= SHOWN_CHARS ? `"${value}"` : `"${value.slice(0, SHOWN_CHARS)}"..., ${value.length} characters`;
}

/**
 * Validates the VIGIL_* variables once, at start-up. A bad value stops Vigil with a message that names the
 * variable, what was wrong and what is expected; the result is frozen.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Readonly<VigilConfig> {
  const secretNames = Object.keys(configSchema.shape).filter(isSecretVariable);
  const vigilEnv = resolveSecretFiles(Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('VIGIL_'))), secretNames);
  const parsed = configSchema.safeParse(vigilEnv);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const variable = String(i.path[0] ?? 'configuration');
      // A URL's user:password part is never echoed either.
      const shown = vigilEnv[variable]?.replace(/\/\/[^/@\s]*@/, '//***@');
      const value = variable in vigilEnv && !isSecretVariable(variable) ? ` (got ${quotedStart(shown ?? '')})` : '';
      return `${variable}: ${i.message}${value}`;
    });
    throw new VigilError('VIGIL_ERR_CONFIG', `invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const c = parsed.data;
  const tls = c.VIGIL_TLS_CERT && c.VIGIL_TLS_KEY
    ? {
        port: c.VIGIL_MQTTS_PORT,
        cert: readPem('VIGIL_TLS_CERT', c.VIGIL_TLS_CERT),
        key: readPem('VIGIL_TLS_KEY', c.VIGIL_TLS_KEY),
        ca: c.VIGIL_TLS_CA ? readPem('VIGIL_TLS_CA', c.VIGIL_TLS_CA) : undefined,
        http: c.VIGIL_HTTP_TLS,
      }
    : undefined;
  if (tls) checkTlsFiles(tls, { cert: c.VIGIL_TLS_CERT!, key: c.VIGIL_TLS_KEY!, ca: c.VIGIL_TLS_CA });
  return Object.freeze({
    host: c.VIGIL_BIND_HOST,
    mqttPort: c.VIGIL_MQTT_PORT,
    httpPort: c.VIGIL_HTTP_PORT,
    tls,
    dataDir: resolve(c.VIGIL_DATA_DIR),
    influx: c.VIGIL_INFLUX_URL
      ? {
          url: c.VIGIL_INFLUX_URL,
          database: c.VIGIL_INFLUX_DB,
          // A duration without a policy name creates (and writes to) a policy named "vigil".
          retentionPolicy: c.VIGIL_INFLUX_RETENTION_POLICY ?? (c.VIGIL_INFLUX_RETENTION_DURATION ? 'vigil' : undefined),
          retentionDuration: c.VIGIL_INFLUX_RETENTION_DURATION,
          username: c.VIGIL_INFLUX_USER,
          password: c.VIGIL_INFLUX_PASSWORD,
          token: c.VIGIL_INFLUX_TOKEN,
          timeoutMs: c.VIGIL_INFLUX_TIMEOUT_MS,
          gzip: c.VIGIL_INFLUX_GZIP,
        }
      : undefined,
    topicPrefix: c.VIGIL_TOPIC_PREFIX,
    limits: { maxPayloadBytes: c.VIGIL_MAX_PAYLOAD_BYTES, maxBatch: c.VIGIL_MAX_BATCH, maxInFlightBytes: c.VIGIL_MAX_INFLIGHT_BYTES },
    rate: { perSecond: c.VIGIL_DEVICE_RATE, burst: c.VIGIL_DEVICE_BURST, maxWaitMs: c.VIGIL_DEVICE_MAX_WAIT_MS },
    mqtt: {
      maxConnections: c.VIGIL_MQTT_MAX_CONNECTIONS,
      maxConnectionsPerAddress: c.VIGIL_MQTT_MAX_CONNECTIONS_PER_ADDRESS,
      connectTimeoutMs: c.VIGIL_MQTT_CONNECT_TIMEOUT_MS,
      maxSessionsPerDevice: c.VIGIL_MAX_SESSIONS_PER_DEVICE,
      authFailuresPerMinutePerAddress: c.VIGIL_MQTT_AUTH_FAILURES_PER_MINUTE,
      authFailuresPerMinutePerDevice: c.VIGIL_MQTT_DEVICE_AUTH_FAILURES_PER_MINUTE,
      webSocketOrigins: c.VIGIL_MQTT_WS_ORIGINS === '*' ? ('*' as const) : Object.freeze(c.VIGIL_MQTT_WS_ORIGINS?.split(',') ?? []),
    },
    timing: {
      futureToleranceMs: c.VIGIL_FUTURE_TOLERANCE_SECONDS * 1000,
      maxAgeMs: c.VIGIL_MAX_READING_AGE_DAYS * 86_400_000,
      lateAfterMs: c.VIGIL_LATE_AFTER_SECONDS * 1000,
    },
    shipBatchSize: c.VIGIL_SHIP_BATCH,
    storeRetryMaxMs: c.VIGIL_STORE_RETRY_MAX_MS,
    rejectionPayloads: { maxBytes: c.VIGIL_REJECTION_PAYLOAD_MAX_BYTES, maxTotalBytes: Math.round(c.VIGIL_REJECTION_PAYLOADS_MAX_MB * 1024 * 1024) },
    clockSkew: { thresholdMs: c.VIGIL_CLOCK_SKEW_MINUTES * 60_000, minDevices: c.VIGIL_CLOCK_SKEW_MIN_DEVICES },
    retention: {
      policy: {
        auditDays: c.VIGIL_RETENTION_AUDIT_DAYS,
        deadLetterDays: c.VIGIL_RETENTION_DEAD_LETTER_DAYS,
        resolvedAlertDays: c.VIGIL_RETENTION_RESOLVED_ALERT_DAYS,
        readingDays: c.VIGIL_RETENTION_READING_DAYS,
        rejectionDays: c.VIGIL_REJECTION_RETENTION_DAYS,
        careDays: c.VIGIL_RETENTION_CARE_DAYS,
      },
      cron: c.VIGIL_RETENTION_CRON,
      batchSize: c.VIGIL_RETENTION_BATCH,
    },
    adminToken: c.VIGIL_ADMIN_TOKEN,
    databaseUrl: c.VIGIL_DATABASE_URL,
    careCron: c.VIGIL_CARE_CRON,
    alerts: {
      webhook:
        c.VIGIL_ALERT_WEBHOOK_URL && c.VIGIL_ALERT_WEBHOOK_SECRET
          ? { url: c.VIGIL_ALERT_WEBHOOK_URL, secret: c.VIGIL_ALERT_WEBHOOK_SECRET, timeoutMs: c.VIGIL_ALERT_WEBHOOK_TIMEOUT_MS, concurrency: c.VIGIL_ALERT_WEBHOOK_CONCURRENCY }
          : undefined,
      escalateAfterMinutes: c.VIGIL_ALERT_ESCALATE_MINUTES,
      sweepCron: c.VIGIL_ALERT_SWEEP_CRON,
      realertHours: { critical: c.VIGIL_ALERT_REALERT_CRITICAL_HOURS, warning: c.VIGIL_ALERT_REALERT_WARNING_HOURS, info: c.VIGIL_ALERT_REALERT_INFO_HOURS },
      snoozeMaxHours: c.VIGIL_ALERT_SNOOZE_MAX_HOURS,
      lateAfterMinutes: c.VIGIL_ALERT_LATE_AFTER_MINUTES,
    },
    dashboard: {
      idleMinutes: c.VIGIL_SESSION_IDLE_MINUTES,
      maxHours: c.VIGIL_SESSION_MAX_HOURS,
      loginMaxFailures: c.VIGIL_LOGIN_MAX_FAILURES,
      loginLockoutMinutes: c.VIGIL_LOGIN_LOCKOUT_MINUTES,
      loginRatePerMinute: c.VIGIL_LOGIN_RATE_PER_MINUTE,
      apiRatePerMinute: c.VIGIL_API_RATE_PER_MINUTE,
      // Secure cookies by default when Vigil itself speaks HTTPS; behind a TLS proxy set it to true.
      secureCookie: c.VIGIL_SECURE_COOKIE ?? Boolean(tls?.http),
      silentAfterHours: c.VIGIL_SILENT_AFTER_HOURS,
      trustProxy: c.VIGIL_TRUST_PROXY,
    },
    defaultTimeZone: c.VIGIL_DEFAULT_TIME_ZONE,
    broker: brokerSettings(c),
    logLevel: c.VIGIL_LOG_LEVEL,
    buildCommit: c.VIGIL_BUILD_COMMIT,
  });
}
