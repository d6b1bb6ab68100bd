import { auditEntryOf, type AuditEntry, type AuditFilter, type AuditLog, type AuditRow } from './audit-log.js';
import type { SqlClient, SqlValue } from './sql.js';

/** The audit log as people read it (administrators, a privacy officer): newest first, paged by id. */
export interface AuditTrail {
  list(filter?: AuditFilter): Promise<AuditEntry[]>;
}

/** One instance's own log: the state database's audit_log (no VIGIL_DATABASE_URL). */
export function localAuditTrail(log: Pick<AuditLog, 'list'>): AuditTrail {
  return { list: async (filter) => log.list(filter) };
}

/**
 * Every instance's log: PostgreSQL's audit_log, with AuditLog.list's filters and paging (ids are PostgreSQL's).
 * `beforeListing` ships this instance's pending entries first, so that a view just audited here is listed.
 */
export function sharedAuditTrail(postgres: SqlClient, beforeListing: () => Promise<unknown>): AuditTrail {
  return {
    async list(filter = {}) {
      await beforeListing();
      const where: string[] = [];
      const params: SqlValue[] = [];
      const when = (condition: string, value: SqlValue | undefined) => {
        if (value === undefined) return;
        where.push(condition);
        params.push(value);
      };
      when('id < ?', filter.beforeId);
      when('actor = ?', filter.actor);
      when('patient_id = ?', filter.patientId);
      when('action = ?', filter.action);
      when('at >= ?', filter.since);
      when('at < ?', filter.until);
      params.push(filter.limit ?? 200);
      const { rows } = await postgres.query<AuditRow>(
        `SELECT id, at, actor, origin, action, patient_id, target, details FROM audit_log
         ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
        params,
      );
      return rows.map(auditEntryOf);
    },
  };
}
