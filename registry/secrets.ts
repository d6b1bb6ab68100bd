import { createHash, createHmac, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Device secrets: 256 random bits, shown once at provisioning and stored only as a SHA-256 digest. A slow
 * KDF protects guessable secrets; nobody can guess or brute-force 256 random bits, so a fast digest is as
 * safe here (NIST SP 800-63B 5.1.1.2 asks for a KDF only for memorised secrets) and lets 10,000 devices
 * reconnect after an outage in milliseconds instead of minutes of scrypt. Human passwords use scrypt
 * (`hashSecret` with a cost). Hashes are self-describing: scrypt hashes of earlier versions still verify.
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

/** `sha256$<digest>` of a device secret (256 random bits: a fast digest is enough, see above). */
export function hashDeviceSecret(secret: string): string {
  return `sha256$${createHash('sha256').update(secret, 'utf8').digest('base64url')}`;
}

/**
 * The verifier of a device's Nightscout API secret. Nightscout uploaders (xDrip+, Loop) send
 * `api-secret: <SHA-1 hex of the secret>` on every request; that hex string is itself a bearer credential, so it
 * is not stored either: the verifier is `ns-sha256$` + SHA-256 of it, kept beside the secret's own hash and made
 * when the secret is issued (a fast digest, for the same reason as hashDeviceSecret: 160 bits of a random secret).
 */
export function nightscoutVerifier(secret: string): string {
  return `ns-sha256$${createHash('sha256').update(sha1Hex(secret), 'utf8').digest('base64url')}`;
}

function sha1Hex(text: string): string {
  return createHash('sha1').update(text, 'utf8').digest('hex');
}

/**
 * The verifier a presented `api-secret` header would have: the header is the SHA-1 hex of the secret (what the
 * apps send; any letter case), or the secret itself (what a person with curl sends).
 */
export function presentedNightscoutVerifier(presented: string): string {
  const hex = /^[0-9a-fA-F]{40}$/.test(presented) ? presented.toLowerCase() : sha1Hex(presented);
  return `ns-sha256$${createHash('sha256').update(hex, 'utf8').digest('base64url')}`;
}

/** Constant-time check of a presented `api-secret` header against a nightscoutVerifier. */
export function verifyNightscoutSecret(presented: string, stored: string): boolean {
  if (!stored.startsWith('ns-sha256$')) return false;
  const digest = Buffer.from(presentedNightscoutVerifier(presented));
  const expected = Buffer.from(stored);
  return digest.length === expected.length && timingSafeEqual(digest, expected);
}

/** A self-describing hash: `scrypt$N$r$p$salt$key`; `cost` raises scrypt's parameters (for human passwords). */
export async function hashSecret(secret: string, cost: { N: number; r: number; p: number } = { N: SCRYPT.N!, r: SCRYPT.r!, p: SCRYPT.p! }): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(Buffer.from(secret, 'utf8'), salt, { ...cost, maxmem: SCRYPT.maxmem });
  return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Constant-time comparison of a presented secret with a stored hash. */
export async function verifySecret(secret: Buffer, stored: string): Promise<boolean> {
  if (stored.startsWith('sha256$')) {
    const expected = Buffer.from(stored.slice(7), 'base64url');
    const digest = createHash('sha256').update(secret).digest();
    return digest.length === expected.length && timingSafeEqual(digest, expected);
  }
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
