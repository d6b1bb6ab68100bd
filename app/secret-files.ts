import { readFileSync } from 'node:fs';
import { VigilError } from '../domain/index.js';

/**
 * Variables whose value is a secret: their values are never echoed in errors, and each can come from a file. The
 * database URL carries the database password.
 */
export const isSecretVariable = (name: string): boolean => /PASSWORD|TOKEN|SECRET|DATABASE_URL/.test(name);

const FILE_SUFFIX = '_FILE';

/**
 * Resolves `VIGIL_X_FILE=/path` into `VIGIL_X` with the file's content, for every secret variable VIGIL_X, so a
 * secret can come from a Docker or Kubernetes secret mount instead of the environment (which `docker inspect`,
 * /proc/<pid>/environ and crash reports show). One trailing line break is dropped: `echo secret > file` adds it.
 * Setting both forms, a `_FILE` variable for a setting that is not a secret, an unreadable or empty file: each
 * stops start-up with a message naming the variable.
 */
export function resolveSecretFiles(env: Readonly<Record<string, string | undefined>>, secretNames: readonly string[]): Record<string, string | undefined> {
  const resolved: Record<string, string | undefined> = { ...env };
  const problems: string[] = [];
  for (const [fileVariable, path] of Object.entries(env)) {
    if (!fileVariable.endsWith(FILE_SUFFIX) || path === undefined) continue;
    const variable = fileVariable.slice(0, -FILE_SUFFIX.length);
    delete resolved[fileVariable];
    if (!secretNames.includes(variable)) {
      problems.push(`${fileVariable}: only secret settings can be read from a file (${secretNames.join(', ')})`);
    } else if (env[variable] !== undefined && env[variable] !== '') {
      problems.push(`${fileVariable}: set either ${variable} or ${fileVariable}, not both`);
    } else {
      try {
        const value = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
        if (value === '') problems.push(`${fileVariable}: ${path} is empty`);
        else resolved[variable] = value;
      } catch (err) {
        problems.push(`${fileVariable}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
  }
  if (problems.length > 0) throw new VigilError('VIGIL_ERR_CONFIG', `invalid configuration:\n  ${problems.join('\n  ')}`);
  return resolved;
}
