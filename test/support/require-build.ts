import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Vitest global setup: many tests run compiled code (the `vigil` CLI in a child process, the embedded store's
 * writer thread, which cannot load TypeScript). Without dist/ they would wait for readings that never get stored
 * until their timeouts; say so at once instead. `npm test` builds first.
 */
export default function requireBuild(): void {
  const root = join(import.meta.dirname, '..', '..');
  const missing = ['dist/cli/main.js', 'dist/ingest/store/sqlite-writer.js'].filter((file) => !existsSync(join(root, file)));
  if (missing.length > 0) throw new Error(`${missing.join(' and ')} missing: run \`npm run build\` first (\`npm test\` does)`);
}
