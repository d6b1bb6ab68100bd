/** The shared domain: types, wire schemas, units and codes every component imports. Imports nothing of Vigil. */
export * from './ids.js';
export * from './reading-types.js';
export * from './time-zone.js';
export * from './errors.js';
export * from './codes.js';
export * from './units.js';
export * from './plausibility.js';
export * from './wire.js';
export * from './reading.js';
export * from './normalise.js';
export * from './rejection-summary.js';
export * from './retry.js';
export * from './topics.js';
export * from './programmes.js';
export * from './local-time.js';
export * from './api/index.js';
export * from './hub-wire.js';
