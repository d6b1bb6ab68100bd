import { Writable } from 'node:stream';

/**
 * A destination for Vigil's JSON log (startTestVigil's `log`, loadConfig's logger) that parses each line into
 * `lines`, for a test to read what was logged; `onChunk` sees the bytes as written.
 */
export function logInto(lines: Record<string, unknown>[], onChunk?: (chunk: Buffer) => void): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      onChunk?.(chunk);
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
}
