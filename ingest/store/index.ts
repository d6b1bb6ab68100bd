export * from './reading-store.js';
export { InfluxStore } from './influx-store.js';
export type { InfluxConnection } from './influx-http.js';
export { SqliteStore } from './sqlite-store.js';
export { READINGS_DB_FILE } from './sqlite-layout.js';
