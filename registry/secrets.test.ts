import { describe, expect, it } from 'vitest';
import { generateSecret, hashDeviceSecret, hashSecret, verifySecret } from './secrets.js';

describe('device secrets', () => {
  it('stores a SHA-256 digest, never the secret, and verifies only the right secret', async () => {
    const secret = generateSecret();
    expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
    const stored = hashDeviceSecret(secret);
    expect(stored).toMatch(/^sha256\$[\w-]{43}$/);
    expect(stored).not.toContain(secret);
    expect(await verifySecret(Buffer.from(secret), stored)).toBe(true);
    expect(await verifySecret(Buffer.from(`${secret}x`), stored)).toBe(false);
    expect(await verifySecret(Buffer.from(generateSecret()), stored)).toBe(false);
  });

  it('still verifies secrets hashed with scrypt by earlier versions', async () => {
    const secret = generateSecret();
    const legacy = await hashSecret(secret);
    expect(legacy).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(await verifySecret(Buffer.from(secret), legacy)).toBe(true);
    expect(await verifySecret(Buffer.from(generateSecret()), legacy)).toBe(false);
    expect(await verifySecret(Buffer.from(secret), 'md5$whatever')).toBe(false);
  });
});
