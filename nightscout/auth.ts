import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../domain/index.js';
import type { NightscoutAuthResult } from '../registry/index.js';
import type { NightscoutMetrics } from './metrics.js';

export interface NightscoutCredentials {
  authenticateNightscout(deviceId: string, apiSecret: string): NightscoutAuthResult;
  deviceIdForNightscoutSecret(apiSecret: string): string | undefined;
}

/** How a mount of the API knows the device: from the path (/ns/{deviceId}/api/v1), or from the secret (/api/v1). */
export type DeviceFrom = 'path' | 'secret';

export interface DeviceRate {
  /** Milliseconds to wait for a token, or undefined when none is left within maxWaitMs. */
  take(deviceId: string, maxWaitMs: number): number | undefined;
  /** Milliseconds until the device's bucket holds a token again (0 when it holds one); takes none. */
  nextTokenIn(deviceId: string): number;
}

const REFUSALS: Record<Exclude<NightscoutAuthResult, 'ok'> | 'missing', { status: 401 | 403; code: ErrorCode; message: string }> = {
  missing: { status: 401, code: 'VIGIL_ERR_UNAUTHORIZED', message: 'the api-secret header (SHA-1 hex of the device secret) is required' },
  // An unknown device and a wrong secret are answered alike, so that the answer does not tell which ids exist.
  unknown: { status: 401, code: 'VIGIL_ERR_UNAUTHORIZED', message: 'api-secret does not match this device' },
  'bad-secret': { status: 401, code: 'VIGIL_ERR_UNAUTHORIZED', message: 'api-secret does not match this device' },
  'no-verifier': { status: 401, code: 'VIGIL_ERR_UNAUTHORIZED', message: 'this device was provisioned before Nightscout uploads: rotate its secret (vigil devices rotate-secret) and use the new one' },
  revoked: { status: 403, code: 'VIGIL_ERR_FORBIDDEN', message: 'the device is revoked' },
};

/**
 * Every Nightscout route: the device (named in the path, or found by its secret), its secret in `api-secret` (as
 * Nightscout's own API v1 takes it), then the device's share of VIGIL_DEVICE_RATE. The rate is taken only after the secret matched, so that
 * nobody can use up a device's budget with wrong secrets (a wrong one costs one SHA-256).
 */
export function nightscoutGuard(from: DeviceFrom, devices: WeakMap<FastifyRequest, string>, credentials: NightscoutCredentials, rate: DeviceRate, metrics: NightscoutMetrics) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const header = request.headers['api-secret'];
    const secret = typeof header === 'string' && header.length > 0 && header.length <= 256 ? header : undefined;
    const deviceId = from === 'path' ? (request.params as { deviceId: string }).deviceId : secret && credentials.deviceIdForNightscoutSecret(secret);
    const result = secret === undefined ? 'missing' : deviceId ? credentials.authenticateNightscout(deviceId, secret) : 'unknown';
    if (result !== 'ok') {
      const refusal = REFUSALS[result];
      metrics.refused.inc({ code: refusal.code });
      return void (await reply.code(refusal.status).send({ code: refusal.code, message: refusal.message }));
    }
    devices.set(request, deviceId!);
    if (rate.take(deviceId!, 0) === undefined) {
      metrics.refused.inc({ code: 'VIGIL_ERR_RATE_LIMITED' });
      reply.header('retry-after', String(retryAfterSeconds(rate.nextTokenIn(deviceId!))));
      return void (await reply.code(429).send({ code: 'VIGIL_ERR_RATE_LIMITED', message: 'over the device rate limit (VIGIL_DEVICE_RATE); retry later' }));
    }
  };
}

/**
 * When the device's next token is due, in whole seconds (the header's unit) rounded up, and at least 1: a device
 * that retries when told gets its token. A fixed 1 s was refused again below VIGIL_DEVICE_RATE 1/s.
 */
function retryAfterSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}
