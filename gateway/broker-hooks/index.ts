export { BrokerAccess, type BrokerAccessOptions, type DeviceDirectory } from './access.js';
export { registerBrokerHooks, type BrokerHookOptions } from './routes.js';
