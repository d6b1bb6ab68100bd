import type { z } from 'zod';

/** A zod failure as one line for a coded error: each issue's path (or `whole`, for the value itself) and message. */
export function describeIssues(error: z.ZodError, whole = ''): string {
  return error.issues.map((i) => `${i.path.join('.') || whole}: ${i.message}`).join('; ');
}
