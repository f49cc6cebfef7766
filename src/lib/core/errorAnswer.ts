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
import { MAX_BODY_BYTES } from './request.js';

// The one translation from typed errors to Azure's error answer, {"error": {"code", "message", ...}}
// with a status. The HTTP triggers send it; the queue worker and the job store keep it, so a job's
// poll ends with the same status the synchronous call would have answered.

export interface ErrorAnswer {
  status: number;
  body: AzureErrorBody;
  /** Whole seconds, for a Retry-After header. */
  retryAfterSeconds?: number;
}

type ErrorClass = new (...args: never[]) => ImagesError;

/**
 * Each status an error is answered with: the errors it answers, what it means to a caller (the
 * OpenAPI document describes each status in these words), and whether it says when to try again.
 */
export const ERROR_STATUSES = {
  400: {
    errors: [InvalidRequestError, ServiceRejectedError],
    description:
      'The request is invalid (the message names the field), or the content filter refused the prompt (content_policy_violation).',
  },
  401: {
    errors: [UnauthorizedError],
    description: 'No key, an unknown or revoked caller key, or a function key the host does not take.',
  },
  403: {
    errors: [ModelNotAllowedError, PriceNotFoundError],
    description: 'The caller key may not use the model the request would be served by (model_not_allowed).',
  },
  404: { errors: [DeploymentNotFoundError, NotFoundError], description: 'There is no such resource.' },
  409: {
    errors: [IdempotencyKeyInUseError],
    description: 'A request with the same Idempotency-Key is still running; retry after Retry-After seconds.',
    retryAfter: true,
  },
  413: { errors: [RequestTooLargeError], description: `The body is larger than ${MAX_BODY_BYTES} bytes.` },
  422: { errors: [IdempotencyKeyReusedError], description: 'The Idempotency-Key was used with a different body.' },
  429: {
    errors: [ServiceThrottledError, BudgetExceededError, TooManyRequestsError],
    description:
      "Azure OpenAI's quota is spent, or the request would pass the caller's or the app's daily budget (budget_exceeded, until 00:00 UTC); retry after Retry-After seconds.",
    retryAfter: true,
  },
  502: {
    errors: [ServiceAuthError, ServiceFailedError],
    description: 'Azure OpenAI failed or answered something unusable.',
  },
  503: {
    errors: [DependencyUnavailableError, SettingsError],
    description: 'Key Vault or Storage is unavailable; retry after Retry-After seconds.',
    retryAfter: true,
  },
  504: {
    errors: [ServiceTimeoutError],
    description:
      'Azure OpenAI did not answer in time; the request is not sent again, since the image may have been made.',
  },
} satisfies Record<number, { errors: ErrorClass[]; description: string; retryAfter?: true }>;

export type ErrorStatus = keyof typeof ERROR_STATUSES;

const STATUS = Object.entries(ERROR_STATUSES).flatMap(([status, { errors }]) =>
  errors.map((type): [ErrorClass, number] => [type, Number(status)]),
);

/** Any error as Azure's answer; one we did not foresee is a 500 that says nothing of its insides. */
export function errorAnswer(err: unknown): ErrorAnswer {
  const status = err instanceof ImagesError ? STATUS.find(([type]) => err instanceof type)?.[1] : undefined;
  if (!(err instanceof ImagesError) || status === undefined) {
    return {
      status: 500,
      body: { error: { code: 'InternalServerError', message: 'The server could not complete the request.' } },
    };
  }
  const error: AzureErrorBody['error'] = { code: err.code, message: err.message };
  if (err.param !== undefined) error.param = err.param;
  if (err.type !== undefined) error.type = err.type;
  if (err.innerError !== undefined) error.inner_error = err.innerError;
  const wait = err.retryAfterMs;
  return {
    status,
    body: { error },
    ...(wait !== undefined && { retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)) }),
  };
}
