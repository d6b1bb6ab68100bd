import type { StateDb } from '../../state/index.js';

/**
 * One batch of deletions in the state database per call, each returning how many records went. Each batch is
 * its own short transaction, so the server's writers (alerts, sessions, the audit log) wait at most for one.
 */
export interface StatePurges {
  audit(before: number, limit: number): number;
  deadLetters(before: number, limit: number): number;
  resolvedAlerts(before: number, limit: number): number;
  /** Hub inbox entries created before `before` and expired by then (one waiting for its hub is never purged). */
  careInbox(before: number, limit: number): number;
  /** Messages between the care team and the patient sent before `before`, but none about an alert not yet resolved. */
  careMessages(before: number, limit: number): number;
  /** Check-in answers (patient-reported observations) given before `before`. */
  careCheckinAnswers(before: number, limit: number): number;
}

export interface StatePurgeOptions {
  /**
   * With VIGIL_DATABASE_URL: audit entries go only once shipped to the shared audit log (state/audit-shipper.ts),
   * so that a short retention period and a long PostgreSQL outage together cannot lose an entry from it.
   */
  readonly auditShippedOnly?: boolean;
}

export function statePurges(db: StateDb, options: StatePurgeOptions = {}): StatePurges {
  const horizon = db.prepare("INSERT INTO retention_horizon (kind, before, set_at) VALUES ('audit', ?, ?) ON CONFLICT (kind) DO UPDATE SET before = max(before, excluded.before), set_at = excluded.set_at");
  const shipped = options.auditShippedOnly ? 'AND id <= (SELECT shipped_id FROM audit_shipping WHERE id = 1)' : '';
  const audit = db.prepare(`DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < ? ${shipped} ORDER BY at LIMIT ?)`);
  const deadLetters = db.prepare('DELETE FROM dead_letters WHERE id IN (SELECT id FROM dead_letters WHERE replayed_at IS NOT NULL AND replayed_at < ? LIMIT ?)');
  const resolved = db.prepare<[number, number], { id: number }>("SELECT id FROM alerts WHERE status = 'resolved' AND resolved_at < ? ORDER BY resolved_at LIMIT ?");
  const parked = db.prepare('DELETE FROM webhook_parked WHERE seq IN (SELECT seq FROM alert_events WHERE alert_id = ?)');
  const events = db.prepare('DELETE FROM alert_events WHERE alert_id = ?');
  const alert = db.prepare('DELETE FROM alerts WHERE id = ?');
  const careInbox = db.prepare('DELETE FROM care_inbox WHERE id IN (SELECT id FROM care_inbox WHERE created_at < ? AND expires_at < ? ORDER BY created_at LIMIT ?)');
  // A message about an alert not yet resolved is part of that live alert's record: kept until it resolves.
  const careMessages = db.prepare(
    `DELETE FROM care_messages WHERE rowid IN (SELECT m.rowid FROM care_messages m WHERE m.at < ?
       AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.id = m.alert_id AND a.status <> 'resolved') ORDER BY m.at LIMIT ?)`,
  );
  const careCheckinAnswers = db.prepare('DELETE FROM care_checkin_answers WHERE rowid IN (SELECT rowid FROM care_checkin_answers WHERE at < ? ORDER BY at LIMIT ?)');
  const dropAlerts = db.transaction((ids: number[]) => {
    for (const id of ids) {
      parked.run(id);
      events.run(id);
      alert.run(id);
    }
  });
  return {
    audit: db.transaction((before: number, limit: number) => {
      // The audit log's trigger lets rows go only past this recorded horizon (lifecycle migration 1).
      horizon.run(before, Date.now());
      return audit.run(before, limit).changes;
    }),
    deadLetters: (before, limit) => deadLetters.run(before, limit).changes,
    careInbox: (before, limit) => careInbox.run(before, before, limit).changes,
    careMessages: (before, limit) => careMessages.run(before, limit).changes,
    careCheckinAnswers: (before, limit) => careCheckinAnswers.run(before, limit).changes,
    resolvedAlerts: (before, limit) => {
      const ids = resolved.all(before, limit).map((r) => r.id);
      dropAlerts(ids);
      return ids.length;
    },
  };
}
