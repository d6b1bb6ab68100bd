import { createHmac, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Device secrets: 256 random bits, shown once at provisioning and stored only as a scrypt hash.
 * scrypt (a memory-hard KDF) makes a stolen database useless for recovering secrets; N = 2^14 keeps one
 * verification at a few tens of milliseconds so that a fleet reconnecting after an outage is not throttled.
 */
const SCRYPT: ScryptOptions = { N: 16_384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_LENGTH = 32;

export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

function scryptAsync(secret: Buffer, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, KEY_LENGTH, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** A self-describing hash: `scrypt$N$r$p$salt$key`; `cost` raises scrypt's parameters (for human passwords). */
export async function hashSecret(secret: string, cost: { N: number; r: number; p: number } = { N: SCRYPT.N!, r: SCRYPT.r!, p: SCRYPT.p! }): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(Buffer.from(secret, 'utf8'), salt, { ...cost, maxmem: SCRYPT.maxmem });
  return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Constant-time comparison of a presented secret with a stored hash. */
export async function verifySecret(secret: Buffer, stored: string): Promise<boolean> {
  const [scheme, n, r, p, saltText, keyText] = stored.split('$');
  if (scheme !== 'scrypt' || !saltText || !keyText) return false;
  const expected = Buffer.from(keyText, 'base64url');
  const key = await scryptAsync(secret, Buffer.from(saltText, 'base64url'), {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: SCRYPT.maxmem,
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/**
 * Remembers secrets already verified in this process, as a keyed MAC under a per-process random key, so that a
 * device reconnecting (flaky network, hub restart) costs one HMAC rather than one scrypt. An entry is bound to
 * the stored hash, so rotating the secret invalidates it.
 */
export class VerifiedSecretCache {
  readonly #key = randomBytes(32);
  readonly #entries = new Map<string, { storedHash: string; mac: Buffer }>();
  readonly #max: number;

  constructor(max = 100_000) {
    this.#max = max;
  }

  #mac(secret: Buffer): Buffer {
    return createHmac('sha256', this.#key).update(secret).digest();
  }

  matches(deviceId: string, storedHash: string, secret: Buffer): boolean {
    const entry = this.#entries.get(deviceId);
    if (!entry || entry.storedHash !== storedHash) return false;
    return timingSafeEqual(entry.mac, this.#mac(secret));
  }

  remember(deviceId: string, storedHash: string, secret: Buffer): void {
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(deviceId, { storedHash, mac: this.#mac(secret) });
  }
}
