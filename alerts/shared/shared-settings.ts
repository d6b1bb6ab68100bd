import { bookkeeping, RetryLater, SerialQueue, type SqlClient, type SqlValue, type StateDb } from '../../state/index.js';

const OVERRIDE_COLUMNS = ['patient_id', 'rule_id', 'override', 'actor', 'updated_at', 'note', 'expires_at', 'preset'] as const;
const SNOOZE_COLUMNS = ['patient_id', 'rule_id', 'until', 'actor', 'note', 'created_at', 'tier'] as const;
type Row = Record<string, SqlValue>;

/** The mirror's statements, prepared once: a statement prepared per call is garbage that better-sqlite3 must finalise. */
function mirrorStatements(db: StateDb) {
  return {
    patients: db.prepare<[], { patient_id: string }>('SELECT patient_id FROM rule_overrides UNION SELECT patient_id FROM alert_snoozes'),
    clearOverrides: db.prepare('DELETE FROM rule_overrides'),
    clearSnoozes: db.prepare('DELETE FROM alert_snoozes'),
    clearPatientOverrides: db.prepare<[string]>('DELETE FROM rule_overrides WHERE patient_id = ?'),
    clearPatientSnoozes: db.prepare<[string]>('DELETE FROM alert_snoozes WHERE patient_id = ?'),
    insertOverride: db.prepare(`INSERT INTO rule_overrides (${OVERRIDE_COLUMNS.join(', ')}) VALUES (${OVERRIDE_COLUMNS.map(() => '?').join(', ')})`),
    insertSnooze: db.prepare(`INSERT INTO alert_snoozes (${SNOOZE_COLUMNS.join(', ')}) VALUES (${SNOOZE_COLUMNS.map(() => '?').join(', ')})`),
  };
}

/**
 * Per-patient overrides and snoozes with shared alerts: changed in PostgreSQL, whose triggers notify
 * "r:<patient id>", and mirrored in the state database, where rule resolution and evaluation read them
 * synchronously, as before. A notified patient's rows are read again and replace the local ones; after every
 * (re)connection all of them are. Changes made here wait for their own rows to be read back.
 */
export class SharedRuleSettings {
  readonly #db: StateDb;
  readonly #shared: SqlClient;
  #changed: (patientId: string) => void = () => undefined;
  readonly #queue = new SerialQueue();
  #pending = new Set<string>();
  readonly #retry = new RetryLater(() => this.#flush());
  readonly #onError: (err: Error) => void;
  #statements: ReturnType<typeof mirrorStatements> | undefined;

  constructor(db: StateDb, shared: SqlClient, onError: (err: Error) => void) {
    this.#db = db;
    this.#shared = shared;
    this.#onError = onError;
  }

  /** Who hears that a patient's settings changed here (the rule resolver forgets what it cached of them). */
  onChanged(changed: (patientId: string) => void): void {
    this.#changed = changed;
  }

  notified(patientId: string): void {
    this.#pending.add(patientId);
    this.#flush();
  }

  /** Mirrors every patient's settings: at start and after every reconnection (notifications meanwhile are lost). */
  syncAll(): Promise<void> {
    return this.#queue.run(async () => {
      const overrides = (await this.#shared.query<Row>(`SELECT ${OVERRIDE_COLUMNS.join(', ')} FROM rule_overrides`)).rows;
      const snoozes = (await this.#shared.query<Row>(`SELECT ${SNOOZE_COLUMNS.join(', ')} FROM alert_snoozes`)).rows;
      const patients = new Set<string>();
      bookkeeping(this.#db, () => {
        const local = this.#local;
        for (const r of local.patients.all()) patients.add(r.patient_id);
        local.clearOverrides.run();
        local.clearSnoozes.run();
        this.#insert(overrides, snoozes);
      });
      for (const r of [...overrides, ...snoozes]) patients.add(r.patient_id as string);
      for (const id of patients) this.#changed(id);
    });
  }

  async setOverride(patientId: string, o: { ruleId: string; override: string; actor: string; at: number; reason: string | null; expiresAt: number | null; preset: string | null }): Promise<void> {
    await this.#shared.query(
      `INSERT INTO rule_overrides (${OVERRIDE_COLUMNS.join(', ')}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (patient_id, rule_id) DO UPDATE SET ${OVERRIDE_COLUMNS.slice(2).map((c) => `${c} = excluded.${c}`).join(', ')}`,
      [patientId, o.ruleId, o.override, o.actor, o.at, o.reason, o.expiresAt, o.preset],
    );
    await this.#readBack(patientId);
  }

  async clearOverride(patientId: string, ruleId: string): Promise<boolean> {
    const { changes } = await this.#shared.query('DELETE FROM rule_overrides WHERE patient_id = ? AND rule_id = ?', [patientId, ruleId]);
    await this.#readBack(patientId);
    return changes > 0;
  }

  /**
   * Removes the patient's override of the rule if it has expired by `now` in PostgreSQL too: this instance's mirror
   * may not yet know that another instance replaced it (a new one, with a later expiry or none), which must stay.
   */
  async clearExpiredOverride(patientId: string, ruleId: string, now: number): Promise<boolean> {
    const { changes } = await this.#shared.query(
      'DELETE FROM rule_overrides WHERE patient_id = ? AND rule_id = ? AND expires_at IS NOT NULL AND expires_at <= ?',
      [patientId, ruleId, now],
    );
    await this.#readBack(patientId);
    return changes > 0;
  }

  async snooze(patientId: string, s: { ruleId: string; until: number; actor: string; note: string | null; at: number; tier: string }): Promise<void> {
    await this.#shared.query(
      `INSERT INTO alert_snoozes (${SNOOZE_COLUMNS.join(', ')}) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (patient_id, rule_id) DO UPDATE SET ${SNOOZE_COLUMNS.slice(2).map((c) => `${c} = excluded.${c}`).join(', ')}`,
      [patientId, s.ruleId, s.until, s.actor, s.note, s.at, s.tier],
    );
    await this.#readBack(patientId);
  }

  async unsnooze(patientId: string, ruleId: string): Promise<boolean> {
    const { changes } = await this.#shared.query('DELETE FROM alert_snoozes WHERE patient_id = ? AND rule_id = ?', [patientId, ruleId]);
    await this.#readBack(patientId);
    return changes > 0;
  }

  /**
   * After a change committed in PostgreSQL: this instance's mirror reads it back. If it cannot just then, the
   * change still stands (its audit entry follows): the patient is read again with backoff, as after a notification.
   */
  async #readBack(patientId: string): Promise<void> {
    await this.refresh(patientId).catch(() => this.notified(patientId));
  }

  /** Reads one patient's settings again, after what is under way (this instance's own change reads its writes). */
  refresh(patientId: string): Promise<void> {
    return this.#queue.run(() => this.#fetch([patientId]));
  }

  close(): Promise<void> {
    this.#retry.close();
    return this.#queue.idle();
  }

  #flush(): void {
    if (this.#pending.size === 0 || this.#retry.closed) return;
    const ids = [...this.#pending];
    this.#pending = new Set();
    void this.#queue.run(async () => {
      try {
        await this.#fetch(ids);
        this.#retry.succeeded();
      } catch (err) {
        for (const id of ids) this.#pending.add(id);
        this.#retry.failed();
        throw err;
      }
    }).catch((err: Error) => this.#onError(err));
  }

  async #fetch(patientIds: readonly string[]): Promise<void> {
    const list = JSON.stringify(patientIds);
    // One JSON parameter rather than an IN list: any number of patients in one statement.
    const overrides = (await this.#shared.query<Row>(`SELECT ${OVERRIDE_COLUMNS.join(', ')} FROM rule_overrides WHERE patient_id IN (SELECT jsonb_array_elements_text(?::jsonb))`, [list])).rows;
    const snoozes = (await this.#shared.query<Row>(`SELECT ${SNOOZE_COLUMNS.join(', ')} FROM alert_snoozes WHERE patient_id IN (SELECT jsonb_array_elements_text(?::jsonb))`, [list])).rows;
    bookkeeping(this.#db, () => {
      const local = this.#local;
      for (const id of patientIds) {
        local.clearPatientOverrides.run(id);
        local.clearPatientSnoozes.run(id);
      }
      this.#insert(overrides, snoozes);
    });
    for (const id of patientIds) this.#changed(id);
  }

  #insert(overrides: readonly Row[], snoozes: readonly Row[]): void {
    const { insertOverride, insertSnooze } = this.#local;
    for (const r of overrides) insertOverride.run(...OVERRIDE_COLUMNS.map((c) => r[c] ?? null));
    for (const r of snoozes) insertSnooze.run(...SNOOZE_COLUMNS.map((c) => r[c] ?? null));
  }

  /** Prepared at first use: the alerts' migrations have run by then. */
  get #local(): ReturnType<typeof mirrorStatements> {
    this.#statements ??= mirrorStatements(this.#db);
    return this.#statements;
  }
}

/** This data dir's overrides and snoozes, added to the shared ones where the patient has none for the rule (adoption). */
export async function adoptRuleSettings(db: StateDb, shared: SqlClient): Promise<void> {
  const exists = 'WHERE EXISTS (SELECT 1 FROM patients p WHERE p.id = ?)';
  for (const r of db.prepare<[], Row>(`SELECT ${OVERRIDE_COLUMNS.join(', ')} FROM rule_overrides`).all()) {
    await shared.query(
      `INSERT INTO rule_overrides (${OVERRIDE_COLUMNS.join(', ')}) SELECT ${OVERRIDE_COLUMNS.map(() => '?').join(', ')} ${exists} ON CONFLICT (patient_id, rule_id) DO NOTHING`,
      [...OVERRIDE_COLUMNS.map((c) => r[c] ?? null), r.patient_id ?? null],
    );
  }
  for (const r of db.prepare<[], Row>(`SELECT ${SNOOZE_COLUMNS.join(', ')} FROM alert_snoozes`).all()) {
    await shared.query(
      `INSERT INTO alert_snoozes (${SNOOZE_COLUMNS.join(', ')}) SELECT ${SNOOZE_COLUMNS.map(() => '?').join(', ')} ${exists} ON CONFLICT (patient_id, rule_id) DO NOTHING`,
      [...SNOOZE_COLUMNS.map((c) => r[c] ?? null), r.patient_id ?? null],
    );
  }
}
