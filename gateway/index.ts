export { createGateway, type Gateway, type GatewayOptions, type ReadingSink, type GatewayLogger } from './gateway.js';
