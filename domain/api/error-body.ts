import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../errors.js';

/** Codes an API answer can carry: the catalogue, and the one for an unexpected failure (HTTP 500). */
export const API_ERROR_CODES = [...(Object.keys(ERROR_CODES) as ErrorCode[]), 'VIGIL_ERR_INTERNAL'] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/** Every API error answer (dashboard/routes/error-handler.ts, docs/errors.md). */
export const apiErrorSchema = z
  .object({
    code: z.enum(API_ERROR_CODES),
    message: z.string().describe('what went wrong, naming the field or the object'),
  })
  .meta({ id: 'ApiError' });
export type ApiError = z.output<typeof apiErrorSchema>;
