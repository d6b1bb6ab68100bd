import { pino, type Logger } from 'pino';

/**
 * Structured logs. Reading values and patient names are never passed to the logger (only ids, codes, counts),
 * and credentials that could reach it through request objects are redacted.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'vigil' },
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'password', 'secret', 'token'], censor: '[redacted]' },
    },
    destination as pino.DestinationStream | undefined,
  );
}
