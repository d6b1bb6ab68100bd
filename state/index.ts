export { openStateDb, STATE_DB_FILE, type Migration, type StateDb } from './database.js';
export { openSqlite } from './sqlite.js';
export { AuditLog, actorName, actorOrigin, type Actor, type AuditEntry, type AuditFilter } from './audit-log.js';
export { changedElsewhere } from './changed-elsewhere.js';
export { bookkeeping } from './bookkeeping.js';
export { isUniqueViolation, type SqlClient, type SqlDialect, type SqlResult, type SqlStatement, type SqlValue } from './sql.js';
export { sqliteClient } from './sqlite-client.js';
export { openPostgres, redactedUrl, type PostgresState } from './postgres.js';
export { watchDatabase, type DatabaseHealth } from './database-watch.js';
