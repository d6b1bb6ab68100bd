/**
 * Shared alerts in PostgreSQL (docs/architecture.md, "Alerts, shared"): the alerts, every transition as an event
 * numbered by PostgreSQL, per-patient rule overrides and snoozes, the newest measurement time per patient and series (missing-data rules across workers)
 * and the webhook's delivered position. The registry's tables come first (alerts name patients): erasing a
 * patient there takes their alerts and events with it.
 *
 * - `alerts_live`: one live alert per patient, rule and subject across every instance (a database constraint,
 *   not luck). Transitions are decided under one advisory lock (alert-commit.ts), so it guards rather than decides.
 * - `version`: the count of writes to an alert; every update checks it, as a guard against an out-of-step replica.
 * - Every insert into alert_events notifies channel vigil_alerts ("e:<seq>"); replicas then read the events after the last
 *   one they applied. Writers take one transaction-level advisory lock first, so events commit in the order of
 *   their numbers and a reader never skips one that commits later with a smaller number.
 * - `quiet`: a write no one is told about (the sweep finding a persisting condition again): replicas apply it, the
 *   feed and the webhook do not show it. `adopted`: history copied from a data dir moving to shared state, which
 *   its own webhook delivered before: the webhook does not send it again.
 */
export const SHARED_ALERTS_SCHEMA = `
  CREATE TABLE alerts_identity (id TEXT PRIMARY KEY);
  INSERT INTO alerts_identity (id) VALUES (gen_random_uuid()::text);

  CREATE TABLE alerts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
    rule_id TEXT NOT NULL,
    subject TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    severity TEXT NOT NULL,
    title TEXT NOT NULL,
    message TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    first_observed_at BIGINT NOT NULL,
    last_observed_at BIGINT NOT NULL,
    count INTEGER NOT NULL DEFAULT 1,
    latest_values TEXT NOT NULL,
    worst_values TEXT NOT NULL,
    worst_score DOUBLE PRECISION NOT NULL,
    late INTEGER NOT NULL DEFAULT 0,
    clear_since BIGINT,
    back_in_range_at BIGINT,
    notified_at BIGINT,
    renotify_count INTEGER NOT NULL DEFAULT 0,
    renotify_reason TEXT,
    escalation_level INTEGER NOT NULL DEFAULT 0,
    escalated_at BIGINT,
    acknowledged_at BIGINT,
    acknowledged_by TEXT,
    acknowledge_note TEXT,
    resolved_at BIGINT,
    resolved_by TEXT,
    resolve_note TEXT,
    version INTEGER NOT NULL DEFAULT 0
  );
  CREATE UNIQUE INDEX alerts_live ON alerts(patient_id, rule_id, subject) WHERE status <> 'resolved';
  CREATE INDEX alerts_by_patient ON alerts(patient_id, opened_at);

  CREATE TABLE alert_events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id BIGINT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT,
    alert TEXT NOT NULL,
    version INTEGER NOT NULL,
    quiet BOOLEAN NOT NULL DEFAULT false,
    adopted BOOLEAN NOT NULL DEFAULT false
  );
  CREATE INDEX alert_events_alert ON alert_events(alert_id);

  CREATE FUNCTION vigil_alert_event_notify() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    PERFORM pg_notify('vigil_alerts', 'e:' || NEW.seq::text);
    RETURN NULL;
  END $$;
  CREATE TRIGGER alert_events_notify AFTER INSERT ON alert_events FOR EACH ROW EXECUTE FUNCTION vigil_alert_event_notify();

  -- changed_at (PostgreSQL's clock, epoch ms): each sweep reads only what changed since its last read.
  CREATE TABLE last_readings (
    patient_id TEXT NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
    series TEXT NOT NULL,
    time BIGINT NOT NULL,
    changed_at BIGINT NOT NULL,
    PRIMARY KEY (patient_id, series)
  );
  CREATE INDEX last_readings_changed ON last_readings(changed_at);

  -- Per-patient rule changes: overrides (within the safety floors) and snoozes. Every change notifies
  -- "r:<patient id>": replicas then read that patient's rows again.
  CREATE TABLE rule_overrides (
    patient_id TEXT NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
    rule_id TEXT NOT NULL,
    override TEXT NOT NULL,
    actor TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    note TEXT,
    expires_at BIGINT,
    preset TEXT,
    PRIMARY KEY (patient_id, rule_id)
  );
  CREATE TABLE alert_snoozes (
    patient_id TEXT NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
    rule_id TEXT NOT NULL,
    until BIGINT NOT NULL,
    actor TEXT NOT NULL,
    note TEXT,
    created_at BIGINT NOT NULL,
    tier TEXT NOT NULL,
    PRIMARY KEY (patient_id, rule_id)
  );
  CREATE FUNCTION vigil_rule_settings_notify() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_OP = 'DELETE' THEN
      PERFORM pg_notify('vigil_alerts', 'r:' || OLD.patient_id);
    ELSE
      PERFORM pg_notify('vigil_alerts', 'r:' || NEW.patient_id);
    END IF;
    RETURN NULL;
  END $$;
  CREATE TRIGGER rule_overrides_notify AFTER INSERT OR UPDATE OR DELETE ON rule_overrides FOR EACH ROW EXECUTE FUNCTION vigil_rule_settings_notify();
  CREATE TRIGGER alert_snoozes_notify AFTER INSERT OR UPDATE OR DELETE ON alert_snoozes FOR EACH ROW EXECUTE FUNCTION vigil_rule_settings_notify();

  CREATE TABLE webhook_cursor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL
  );
`;
