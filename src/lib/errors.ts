// Errors the pipeline answers with, in Azure's error shape: {"error": {"code", "message", ...}}.
// Anything a caller sent maps to a 4xx; only our own dependencies failing maps to a 5xx.

import type { z } from 'zod';
import type { azureError } from './schemas.js';

export type AzureErrorBody = z.infer<typeof azureError>;
type InnerError = NonNullable<AzureErrorBody['error']['inner_error']>;

export interface ApiErrorOptions {
  param?: string;
  type?: string;
  innerError?: InnerError;
  /** Headers the answer must carry, such as Retry-After. */
  headers?: Record<string, string>;
  cause?: unknown;
}

export class ApiError extends Error {
  override name = 'ApiError';
  readonly param?: string;
  readonly type?: string;
  readonly innerError?: InnerError;
  readonly headers: Record<string, string>;

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options: ApiErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.param = options.param;
    this.type = options.type;
    this.innerError = options.innerError;
    this.headers = options.headers ?? {};
  }

  /** Whether the caller can fix it (a 4xx) rather than wait for us (a 5xx). */
  get isClientError(): boolean {
    return this.status < 500;
  }

  toJSON(): AzureErrorBody {
    const error: AzureErrorBody['error'] = { code: this.code, message: this.message };
    if (this.param !== undefined) error.param = this.param;
    if (this.type !== undefined) error.type = this.type;
    if (this.innerError !== undefined) error.inner_error = this.innerError;
    return { error };
  }
}

export const invalidRequest = (message: string, param?: string) =>
  new ApiError(400, 'invalid_request_error', message, { param, type: 'invalid_request_error' });

/** Any error as an ApiError; what we did not foresee is our fault, and says nothing of its insides. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  return new ApiError(500, 'InternalServerError', 'The server could not complete the request.', { cause: err });
}
