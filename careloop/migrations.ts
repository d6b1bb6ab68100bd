import type { Migration } from '../state/index.js';

export const CARELOOP_MIGRATIONS: readonly Migration[] = [
  {
    component: 'careloop',
    version: 1,
    // The plan's measurements are one JSON document (validated with zod on every read and write): a plan is edited
    // and audited whole. Medications are rows, since doses and adherence refer to each one by id. Every message
    // put in a hub's inbox is a row of care_inbox, with its receipts and (medication reminders) its answer; the
    // conversation is care_messages, both directions. Reminder slots are unique, so a reminder is sent once.
    sql: `
      CREATE TABLE care_plans (
        patient_id TEXT PRIMARY KEY REFERENCES patients(id),
        template TEXT NOT NULL,
        measurements TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        updated_by TEXT NOT NULL
      );
      CREATE TABLE care_medications (
        id TEXT PRIMARY KEY,
        patient_id TEXT NOT NULL REFERENCES patients(id),
        name TEXT NOT NULL,
        dose TEXT NOT NULL,
        times TEXT NOT NULL,
        window_minutes INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        stopped_at INTEGER
      );
      CREATE INDEX care_medications_patient ON care_medications(patient_id);
      CREATE TABLE care_inbox (
        id TEXT PRIMARY KEY,
        patient_id TEXT NOT NULL,
        hub_id TEXT NOT NULL,
        -- No CHECK on kind: new inbox kinds (check-ins, education) are added without rebuilding the table.
        kind TEXT NOT NULL,
        subject TEXT NOT NULL DEFAULT '',
        due_at INTEGER,
        window_ends_at INTEGER,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        payload TEXT NOT NULL,
        sent_at INTEGER,
        delivered_at INTEGER,
        read_at INTEGER,
        answer TEXT CHECK (answer IN ('taken', 'skipped', 'snoozed', 'missed')),
        answered_at INTEGER
      );
      CREATE UNIQUE INDEX care_inbox_slot ON care_inbox(patient_id, kind, subject, due_at) WHERE due_at IS NOT NULL;
      CREATE INDEX care_inbox_patient ON care_inbox(patient_id, created_at);
      CREATE INDEX care_inbox_unsent ON care_inbox(sent_at) WHERE sent_at IS NULL;
      CREATE TABLE care_messages (
        id TEXT PRIMARY KEY,
        patient_id TEXT NOT NULL,
        direction TEXT NOT NULL CHECK (direction IN ('to_patient', 'from_patient')),
        text TEXT NOT NULL,
        at INTEGER NOT NULL,
        author TEXT NOT NULL,
        reply_to TEXT,
        alert_id INTEGER,
        measure TEXT
      );
      CREATE INDEX care_messages_patient ON care_messages(patient_id, at);
    `,
  },
  {
    component: 'careloop',
    version: 2,
    // Symptom check-ins (docs/checkins.md): the planned questionnaires per patient as one JSON document (edited
    // and audited whole, like the plan's measurements), and each answer as a coded patient-reported observation.
    // One row per check-in and question: a hub that resends its answers changes nothing.
    sql: `
      CREATE TABLE care_checkin_plans (
        patient_id TEXT PRIMARY KEY REFERENCES patients(id),
        checkins TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        updated_by TEXT NOT NULL
      );
      CREATE TABLE care_checkin_answers (
        inbox_id TEXT NOT NULL,
        patient_id TEXT NOT NULL,
        questionnaire TEXT NOT NULL,
        question TEXT NOT NULL,
        answer TEXT NOT NULL,
        score INTEGER NOT NULL,
        code_system TEXT NOT NULL,
        code TEXT NOT NULL,
        at INTEGER NOT NULL,
        recorded_at INTEGER NOT NULL,
        PRIMARY KEY (inbox_id, question)
      );
      CREATE INDEX care_checkin_answers_patient ON care_checkin_answers(patient_id, at);
    `,
  },
  {
    component: 'careloop',
    version: 3,
    // A medication's class, for rules that read adherence (alerts: adherence.antihypertensive_bp). Existing rows
    // are 'other' (no rule reads them) until the care team says what they are. Version 2 belongs to check-ins.
    // acked_at: the hub's PUBACK of an inbox message on the embedded broker, whose queue for an offline hub is in
    // memory: what is sent and not acknowledged is sent again when the hub comes back on a new session.
    sql: `
      ALTER TABLE care_medications ADD COLUMN class TEXT NOT NULL DEFAULT 'other';
      ALTER TABLE care_inbox ADD COLUMN acked_at INTEGER;
      CREATE INDEX care_inbox_unacked ON care_inbox(hub_id, expires_at) WHERE acked_at IS NULL AND sent_at IS NOT NULL;
      -- The retention run deletes the oldest rows of all patients in batches: by time, not by patient.
      CREATE INDEX care_inbox_created ON care_inbox(created_at);
      CREATE INDEX care_messages_at ON care_messages(at);
      -- Education items for one patient, attached to the plan ('plan') or to an alert rule id (e.g. bp.crisis).
      CREATE TABLE care_education (
        id TEXT PRIMARY KEY,
        patient_id TEXT NOT NULL REFERENCES patients(id),
        attach_to TEXT NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        link TEXT,
        created_at INTEGER NOT NULL,
        created_by TEXT NOT NULL
      );
      CREATE INDEX care_education_patient ON care_education(patient_id, attach_to);
    `,
  },
  {
    component: 'careloop',
    version: 4,
    // The retention run deletes the oldest check-in answers of all patients in batches: by time, not by patient.
    sql: `CREATE INDEX care_checkin_answers_at ON care_checkin_answers(at);`,
  },
];
