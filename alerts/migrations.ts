import type { Migration } from '../state/index.js';
import { SHARED_ALERTS_SCHEMA } from './shared/schema.js';

export const ALERTS_MIGRATIONS: readonly Migration[] = [
  {
    component: 'alerts',
    version: 1,
    sql: `
      CREATE TABLE alerts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        patient_id TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        subject TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
        severity TEXT NOT NULL,
        title TEXT NOT NULL,
        message TEXT NOT NULL,
        opened_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        first_observed_at INTEGER NOT NULL,
        last_observed_at INTEGER NOT NULL,
        count INTEGER NOT NULL DEFAULT 1,
        latest_values TEXT NOT NULL,
        worst_values TEXT NOT NULL,
        worst_score REAL NOT NULL,
        late INTEGER NOT NULL DEFAULT 0,
        clear_since INTEGER,
        escalation_level INTEGER NOT NULL DEFAULT 0,
        escalated_at INTEGER,
        acknowledged_at INTEGER,
        acknowledged_by TEXT,
        acknowledge_note TEXT,
        resolved_at INTEGER,
        resolved_by TEXT,
        resolve_note TEXT
      );
      -- One live alert per patient, rule and subject: repeats update it.
      CREATE UNIQUE INDEX alerts_live ON alerts(patient_id, rule_id, subject) WHERE status != 'resolved';
      CREATE INDEX alerts_by_status ON alerts(status, severity, updated_at);
      CREATE INDEX alerts_by_patient ON alerts(patient_id, opened_at);

      -- Every transition, in order; seq is the sequence live clients and the webhook resume from.
      CREATE TABLE alert_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        alert_id INTEGER NOT NULL REFERENCES alerts(id),
        type TEXT NOT NULL,
        at INTEGER NOT NULL,
        actor TEXT,
        alert TEXT NOT NULL
      );

      CREATE TABLE alert_snoozes (
        patient_id TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        until INTEGER NOT NULL,
        actor TEXT NOT NULL,
        note TEXT,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (patient_id, rule_id)
      );

      CREATE TABLE rule_overrides (
        patient_id TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        override TEXT NOT NULL,
        actor TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (patient_id, rule_id)
      );

      CREATE TABLE last_readings (
        patient_id TEXT NOT NULL,
        series TEXT NOT NULL,
        time INTEGER NOT NULL,
        PRIMARY KEY (patient_id, series)
      );

      CREATE TABLE webhook_cursor (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq INTEGER NOT NULL
      );

      -- Append-only record of who did what to clinical data.
      CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        patient_id TEXT,
        target TEXT,
        details TEXT
      );
      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
      CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
    `,
  },
  {
    component: 'alerts',
    version: 2,
    sql: `
      -- Where an action came from (the client's address), for "who saw what, from where".
      ALTER TABLE audit_log ADD COLUMN origin TEXT;
      CREATE INDEX audit_log_patient ON audit_log(patient_id, id);
      CREATE INDEX audit_log_actor ON audit_log(actor, id);
    `,
  },
  {
    component: 'alerts',
    version: 3,
    sql: `
      -- Latching criticals and re-notification (docs/alerts.md, the alert state machine).
      ALTER TABLE alerts ADD COLUMN back_in_range_at INTEGER;
      ALTER TABLE alerts ADD COLUMN notified_at INTEGER;
      ALTER TABLE alerts ADD COLUMN renotify_count INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE alerts ADD COLUMN renotify_reason TEXT;
      UPDATE alerts SET notified_at = opened_at;
      -- A snooze silences up to a severity tier; anything worse breaks through.
      ALTER TABLE alert_snoozes ADD COLUMN tier TEXT NOT NULL DEFAULT 'warning';
      -- Why an override was made, until when it applies, and the named preset it came from.
      ALTER TABLE rule_overrides ADD COLUMN note TEXT;
      ALTER TABLE rule_overrides ADD COLUMN expires_at INTEGER;
      ALTER TABLE rule_overrides ADD COLUMN preset TEXT;
    `,
  },
  {
    component: 'alerts',
    version: 4,
    sql: `
      -- Deliveries a webhook receiver refused (4xx) after every retry: kept so that they can be seen and replayed,
      -- while the deliveries after them go on.
      CREATE TABLE webhook_parked (
        seq INTEGER PRIMARY KEY,
        status INTEGER,
        error TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        parked_at INTEGER NOT NULL,
        replay INTEGER NOT NULL DEFAULT 0
      );
    `,
  },
  {
    component: 'alerts',
    version: 5,
    // Embedded: what a replica of shared alerts keeps (docs/architecture.md, "Alerts, shared"). PostgreSQL: the
    // shared alerts themselves, on first start with VIGIL_DATABASE_URL.
    sql: `
      -- PostgreSQL's count of writes to each alert: a compare-and-set expects the replica's.
      ALTER TABLE alerts ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
      -- Which shared alerts this database mirrors, and the last event it applied.
      CREATE TABLE alerts_replica (
        source_id TEXT NOT NULL,
        seq INTEGER NOT NULL
      );
    `,
    postgres: SHARED_ALERTS_SCHEMA,
  },
  {
    component: 'alerts',
    version: 6,
    // Adoption once per data dir (alerts/shared/adopt.ts): a random token per state database, recorded in
    // PostgreSQL in the transaction that copies its alerts, so that a data dir stopped after that commit and
    // before it became a replica does not copy them again at its next start.
    sql: `
      CREATE TABLE alerts_adoption (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        token TEXT NOT NULL
      );
      INSERT INTO alerts_adoption (id, token) VALUES (1, lower(hex(randomblob(16))));
    `,
    postgres: `
      CREATE TABLE alerts_adoptions (
        token TEXT PRIMARY KEY,
        adopted_at BIGINT NOT NULL,
        copied INTEGER NOT NULL
      );
    `,
  },
  {
    component: 'alerts',
    version: 7,
    // Shared alerts: findings this instance made that PostgreSQL has not taken yet (alerts/store/waiting-findings.ts),
    // so that a stop or crash during a database outage does not lose them.
    sql: `
      CREATE TABLE alert_findings_waiting (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        patient_id TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        finding TEXT NOT NULL,
        late INTEGER NOT NULL,
        at INTEGER NOT NULL,
        from_sweep INTEGER NOT NULL
      );
    `,
  },
  {
    component: 'alerts',
    version: 8,
    // The PostgreSQL transaction that may have written a waiting finding (its COMMIT's answer was lost): a next
    // start asks whether it committed before writing the finding again (alerts/shared/shared-transitions.ts).
    sql: 'ALTER TABLE alert_findings_waiting ADD COLUMN txid TEXT',
  },
];
