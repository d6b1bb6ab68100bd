export * from './reading-store.js';
export { InfluxStore } from './influx-store.js';
export type { InfluxConnection } from './influx-http.js';
export { SqliteStore, READINGS_DB_FILE } from './sqlite-store.js';
