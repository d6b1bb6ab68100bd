export { createHttpServer, type HttpServer, type HttpServerOptions } from './http-server.js';
export type { ReadinessCheck } from './ops-routes.js';
export { createDashboard, type Dashboard, type DashboardOptions } from './dashboard.js';
export type { PatientDirectory as DashboardDirectory, SessionSettings } from './context.js';
export { DASHBOARD_MIGRATIONS } from './auth/migrations.js';
export { ApiTokenStore, API_TOKEN_MIGRATIONS } from './auth/api-token-store.js';
export { UserStore, ROLES, usernameSchema, type Role, type User } from './auth/user-store.js';
export { LatestReadings } from './worklist/latest-readings.js';
export { responses } from './routes/responses.js';
