/**
 * What of the dashboard works without its HTTP server: its tables in the state database (for app/state.ts, and
 * through it every CLI command) and the rule for account names (for `vigil users`, `vigil api-tokens`). A second
 * public entry: the main one (index.ts) loads Fastify and its plugins, about 900 modules a command that lists
 * patients does not need, and about half of its start-up time.
 */
export { DASHBOARD_MIGRATIONS } from './auth/migrations.js';
export { API_TOKEN_MIGRATIONS } from './auth/api-token-store.js';
export { usernameSchema } from './auth/user-store.js';
