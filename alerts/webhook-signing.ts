import { createHmac } from 'node:crypto';

/** `sha256=<hex>` over `<timestamp>.<body>` with the first secret: Vigil's own signature (X-Vigil-Signature). */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * The signing key of a secret: Standard Webhooks secrets are `whsec_<base64>` (the key is the decoded bytes);
 * any other secret is used as its UTF-8 bytes.
 */
function keyOf(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret, 'utf8');
}

/**
 * The `webhook-signature` header of the Standard Webhooks specification (standardwebhooks.com): `v1,<base64
 * HMAC-SHA256 of "<id>.<timestamp>.<body>">`, one per secret, space-separated, so that a receiver can move to a
 * new secret while the old one is still accepted (rotation: configure "new old", then "new").
 */
export function standardSignature(secrets: readonly string[], id: string, timestamp: string, body: string): string {
  return secrets.map((s) => `v1,${createHmac('sha256', keyOf(s)).update(`${id}.${timestamp}.${body}`).digest('base64')}`).join(' ');
}

/** The secrets of VIGIL_ALERT_WEBHOOK_SECRET: one, or several separated by spaces or commas (newest first). */
export function secretsOf(value: string): string[] {
  return value.split(/[\s,]+/).filter(Boolean);
}
