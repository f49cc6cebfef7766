import {
  BudgetExceededError,
  DependencyUnavailableError,
  DeploymentNotFoundError,
  IdempotencyKeyInUseError,
  IdempotencyKeyReusedError,
  ImagesError,
  InvalidRequestError,
  ModelNotAllowedError,
  NotFoundError,
  PriceNotFoundError,
  RequestTooLargeError,
  retryAfterMs,
  ServiceAuthError,
  ServiceFailedError,
  ServiceRejectedError,
  ServiceThrottledError,
  ServiceTimeoutError,
  SettingsError,
  TooManyRequestsError,
  UnauthorizedError,
} from './errors.js';
import type { AzureErrorBody } from './schemas.js';

// The one translation from typed errors to Azure's error answer, {"error": {"code", "message", ...}}
// with a status. The HTTP triggers send it; the queue worker and the job store keep it, so a job's
// poll ends with the same status the synchronous call would have answered.

export interface ErrorAnswer {
  status: number;
  body: AzureErrorBody;
  /** Whole seconds, for a Retry-After header. */
  retryAfterSeconds?: number;
}

const STATUS: [new (...args: never[]) => ImagesError, number][] = [
  [InvalidRequestError, 400],
  [ServiceRejectedError, 400],
  [UnauthorizedError, 401],
  [ModelNotAllowedError, 403],
  [PriceNotFoundError, 403],
  [DeploymentNotFoundError, 404],
  [NotFoundError, 404],
  [IdempotencyKeyInUseError, 409],
  [RequestTooLargeError, 413],
  [IdempotencyKeyReusedError, 422],
  [ServiceThrottledError, 429],
  [BudgetExceededError, 429],
  [TooManyRequestsError, 429],
  [ServiceAuthError, 502],
  [ServiceFailedError, 502],
  [DependencyUnavailableError, 503],
  [SettingsError, 503],
  [ServiceTimeoutError, 504],
];

/** Any error as Azure's answer; one we did not foresee is a 500 that says nothing of its insides. */
export function errorAnswer(err: unknown): ErrorAnswer {
  const status = err instanceof ImagesError ? STATUS.find(([type]) => err instanceof type)?.[1] : undefined;
  if (!(err instanceof ImagesError) || status === undefined) {
    return { status: 500, body: { error: { code: 'InternalServerError', message: 'The server could not complete the request.' } } };
  }
  const error: AzureErrorBody['error'] = { code: err.code, message: err.message };
  if (err instanceof InvalidRequestError || err instanceof UnauthorizedError) {
    if (err.param !== undefined) error.param = err.param;
    if (err instanceof InvalidRequestError) error.type = 'invalid_request_error';
  }
  if (err instanceof IdempotencyKeyInUseError || err instanceof IdempotencyKeyReusedError || err instanceof ModelNotAllowedError || err instanceof PriceNotFoundError) error.param = err.param;
  if (err instanceof ServiceRejectedError) {
    const { param, type, innerError } = err.details;
    if (param !== undefined) error.param = param;
    error.type = type ?? 'invalid_request_error';
    if (innerError !== undefined) error.inner_error = innerError;
  }
  const wait = retryAfterMs(err);
  return { status, body: { error }, ...(wait !== undefined && { retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)) }) };
}
