export { createGateway, type Gateway, type GatewayOptions, type ReadingSink, type GatewayLogger, type HubSink, type ReplyProblem } from './gateway.js';
export { startBrokerWorker, type BrokerWorker, type BrokerWorkerOptions } from './worker/broker-worker.js';
export type { BrokerConnectionOptions } from './worker/broker-connection.js';
