import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { VigilError } from '../domain/index.js';

function reason(err: unknown): string {
  // OpenSSL's "error:0480006C:PEM routines::no start line": the part after the last colons says what is wrong.
  return ((err as Error).message.split('::').at(-1) ?? '').trim() || (err as Error).message;
}

/**
 * Checks the TLS files at start-up, so that a file that is not PEM, or a key that belongs to another
 * certificate, stops Vigil with the variable to fix instead of an OpenSSL stack trace when a listener starts.
 */
export function checkTlsFiles(files: { cert: Buffer; key: Buffer; ca: Buffer | undefined }, paths: { cert: string; key: string; ca?: string | undefined }): void {
  const check = (variable: string, path: string | undefined, what: string, options: Parameters<typeof createSecureContext>[0]) => {
    try {
      createSecureContext(options);
    } catch (err) {
      throw new VigilError('VIGIL_ERR_CONFIG', `${variable}: ${path} ${what} (${reason(err)})`);
    }
  };
  check('VIGIL_TLS_CERT', paths.cert, 'is not a PEM certificate', { cert: files.cert });
  check('VIGIL_TLS_KEY', paths.key, 'is not a PEM private key', { key: files.key });
  check('VIGIL_TLS_KEY', paths.key, 'does not match the certificate in VIGIL_TLS_CERT', { cert: files.cert, key: files.key });
  if (files.ca) {
    // OpenSSL takes a CA file without a single certificate in it: every client certificate would then be refused.
    const blocks = files.ca.toString('latin1').match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
    try {
      if (blocks.length === 0) throw new Error('no certificate in it');
      for (const block of blocks) new X509Certificate(block);
    } catch (err) {
      throw new VigilError('VIGIL_ERR_CONFIG', `VIGIL_TLS_CA: ${paths.ca} is not a PEM certificate bundle (${reason(err)})`);
    }
  }
}
