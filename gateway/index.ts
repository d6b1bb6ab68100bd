export { createGateway, type Gateway, type GatewayOptions, type ReadingSink, type GatewayLogger, type HubSink, type ReplyProblem } from './gateway.js';
export { startBrokerWorker, type BrokerWorker, type BrokerWorkerOptions } from './worker/broker-worker.js';
export type { BrokerConnectionOptions } from './worker/broker-connection.js';
export { DynsecControl, DynsecProvisioner, startDynsecSync, type DynsecCommands, type DynsecLogin, type DynsecSync, type ReconcileReport } from './dynsec/index.js';
export { BrokerAccess, registerBrokerHooks, type BrokerHookOptions } from './broker-hooks/index.js';
export { DeviceRateLimiter } from './rate-limit.js';
export { perDeviceLogLimiter, type DeviceLogLimit } from './log-limiter.js';
