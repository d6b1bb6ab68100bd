export { openStateDb, STATE_DB_FILE, type Migration, type StateDb } from './database.js';
export { openSqlite } from './sqlite.js';
