import { hashSecret, verifySecret } from '../../registry/index.js';

/**
 * Human passwords are guessable, unlike device secrets, so they get a costlier scrypt: OWASP's
 * "N=2^15, r=8, p=3" (32 MiB, about 0.1-0.2 s here). The parameters are stored with each hash.
 */
const PASSWORD_SCRYPT = { N: 32_768, r: 8, p: 3 } as const;

export const MIN_PASSWORD_LENGTH = 12;

export function hashPassword(password: string): Promise<string> {
  return hashSecret(password, PASSWORD_SCRYPT);
}

export function verifyPassword(password: string, stored: string): Promise<boolean> {
  return verifySecret(Buffer.from(password, 'utf8'), stored);
}
