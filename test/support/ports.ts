export { freePort } from '../../bench/ports.js';
