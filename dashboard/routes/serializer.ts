import type { FastifySerializerCompiler } from 'fastify';

/**
 * Answers are written with JSON.stringify, not re-parsed through their zod response schema (the type provider's
 * serializerCompiler). The schemas still bind: the type provider checks at compile time that every handler
 * returns its declared shape, the OpenAPI document is generated from them, the web client's types derive from
 * them, and test/api-contract.e2e.test.ts checks real answers against them field by field. Re-parsing costs too
 * much on the event loop that also acknowledges devices: the 5,000-patient worklist took about 220 ms through
 * zod's encode and 16 ms through JSON.stringify (best of 15 on a shared 2-core machine), and a stall of that length
 * on every worklist refresh would hold up every PUBACK behind it.
 */
export const jsonSerializerCompiler: FastifySerializerCompiler<unknown> = () => (data) => JSON.stringify(data);
