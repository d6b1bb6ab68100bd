import { describe, expect, it } from 'vitest';
import { generateSecret, hashDeviceSecret, hashSecret, nightscoutVerifier, verifyNightscoutSecret, verifySecret } from './secrets.js';

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

  it('verifies a Nightscout api-secret header (the SHA-1 hex of the secret, or the secret) against a verifier that holds neither', () => {
    // Nightscout's own test pair (cgm-remote-monitor tests/api.entries.test.js): API_SECRET "this is my long pass
    // phrase" is sent as api-secret b723e97aa97846eb92d5264f084b2823f57c4aa1.
    const verifier = nightscoutVerifier('this is my long pass phrase');
    expect(verifier).toMatch(/^ns-sha256\$[\w-]{43}$/);
    expect(verifier).not.toContain('b723e97aa97846eb92d5264f084b2823f57c4aa1');
    expect(verifyNightscoutSecret('b723e97aa97846eb92d5264f084b2823f57c4aa1', verifier)).toBe(true);
    expect(verifyNightscoutSecret('B723E97AA97846EB92D5264F084B2823F57C4AA1', verifier)).toBe(true);
    expect(verifyNightscoutSecret('this is my long pass phrase', verifier)).toBe(true);
    expect(verifyNightscoutSecret('b723e97aa97846eb92d5264f084b2823f57c4aa2', verifier)).toBe(false);
    expect(verifyNightscoutSecret('', verifier)).toBe(false);
    // The device's own hash is not a verifier, and a verifier does not open the MQTT side.
    expect(verifyNightscoutSecret('this is my long pass phrase', hashDeviceSecret('this is my long pass phrase'))).toBe(false);
  });
});
