import type { z } from 'zod';

// Errors typed where they arise. They say what went wrong in the app's own terms (a field, a
// dependency, a wait in milliseconds) and nothing of HTTP: the edges turn them into answers
// (errorAnswer.ts), the HTTP triggers as statuses and Retry-After, the queue worker as a delay.

/** Azure's inner_error: the service's details, such as content filter results. */
export type InnerError = Record<string, unknown>;

/** What an error may say besides its message, as Azure's error body says it. */
export interface ImagesErrorOptions {
  cause?: unknown;
  /** The field or header at fault. */
  param?: string;
  /** Azure's error type. */
  type?: string;
  /** The service's own details. */
  innerError?: InnerError;
  /** How long to wait before the same request could succeed. */
  retryAfterMs?: number;
}

// The fields every error may carry live here, as openai-node keeps them on APIError: the edges read
// them without knowing the class, so a new error is one class and one row of errorAnswer's table.
export abstract class ImagesError extends Error {
  /** Azure's error code, as callers read it. */
  abstract readonly code: string;
  /** Whether the same request could succeed later; false when the caller must change it. */
  abstract readonly retryable: boolean;
  declare readonly param?: string;
  declare readonly type?: string;
  declare readonly innerError?: InnerError;
  declare readonly retryAfterMs?: number;

  constructor(message: string, options: ImagesErrorOptions = {}) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    const { param, type, innerError, retryAfterMs } = options;
    // Set only where said, so an error holds no fields it does not carry.
    if (param !== undefined) this.param = param;
    if (type !== undefined) this.type = type;
    if (innerError !== undefined) this.innerError = innerError;
    if (retryAfterMs !== undefined) this.retryAfterMs = retryAfterMs;
  }
}

// ---- The caller's request ---------------------------------------------------------------------

/** The request cannot be served as it is; `param` names the field at fault. */
export class InvalidRequestError extends ImagesError {
  readonly retryable = false;
  constructor(
    message: string,
    param?: string,
    readonly code = 'invalid_request_error',
  ) {
    super(message, { param, type: 'invalid_request_error' });
  }
}

export class RequestTooLargeError extends ImagesError {
  readonly code = 'request_too_large';
  readonly retryable = false;
  constructor(readonly limitBytes: number) {
    super(`The request body is larger than ${limitBytes} bytes.`);
  }
}

/** The path names a deployment this app does not have. */
export class DeploymentNotFoundError extends ImagesError {
  readonly code = 'DeploymentNotFound';
  readonly retryable = false;
  constructor(readonly deployment: string) {
    super(`The API deployment '${deployment}' does not exist on this app.`);
  }
}

export class NotFoundError extends ImagesError {
  readonly code = 'NotFound';
  readonly retryable = false;
}

/** A credential the request needs is missing. */
export class UnauthorizedError extends ImagesError {
  readonly code = 'Unauthorized';
  readonly retryable = false;
  constructor(message: string, param?: string) {
    super(message, { param });
  }
}

/** The caller may not use the model the request would be served by (a caller key's allowed models). */
export class ModelNotAllowedError extends ImagesError {
  readonly code = 'model_not_allowed';
  readonly retryable = false;
  readonly param = 'model';
  constructor(
    readonly caller: string,
    readonly model: string,
  ) {
    super(`Caller '${caller}' may not use ${model}, the model this request would be served by.`);
  }
}

/**
 * The price table has no price for what a request would be served by (its model, or the model at
 * its size): refused before the service is called, since no budget could hold it. The operator
 * adds the price, or lets such requests through with ALLOW_UNPRICED_MODELS.
 */
export class PriceNotFoundError extends ImagesError {
  readonly code = 'PriceNotFound';
  readonly retryable = false;
  declare readonly param: 'model' | 'size';
  constructor(message: string, param: 'model' | 'size') {
    super(message, { param });
  }
}

/**
 * A daily budget (the caller's or the app's) would be passed by this request. Refused before
 * anything is spent; the same request succeeds once the budget resets, `retryAfterMs` from now.
 */
export class BudgetExceededError extends ImagesError {
  readonly code = 'budget_exceeded';
  // Not worth a queue retry: the budget resets at midnight UTC, not within a redelivery.
  readonly retryable = false;
  declare readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number) {
    super(message, { retryAfterMs });
  }
}

/** An Idempotency-Key whose first request is still running. */
export class IdempotencyKeyInUseError extends ImagesError {
  readonly code = 'IdempotencyKeyInUse';
  readonly retryable = true;
  readonly param = 'Idempotency-Key';
  declare readonly retryAfterMs: number;
  constructor(retryAfterMs: number) {
    super("A request with this 'Idempotency-Key' is still running; retry after Retry-After.", { retryAfterMs });
  }
}

/** An Idempotency-Key sent again with another body. */
export class IdempotencyKeyReusedError extends ImagesError {
  readonly code = 'IdempotencyKeyReused';
  readonly retryable = false;
  readonly param = 'Idempotency-Key';
  constructor() {
    super("This 'Idempotency-Key' was used with a different request body.");
  }
}

/** This instance is doing as much of this work as it takes at once; worth trying again after `retryAfterMs`. */
export class TooManyRequestsError extends ImagesError {
  readonly code = 'TooManyRequests';
  readonly retryable = true;
  declare readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number) {
    super(message, { retryAfterMs });
  }
}

// ---- Azure OpenAI ------------------------------------------------------------------------------

/** The service refused the prompt or its parameters (the content filter among them). */
export class ServiceRejectedError extends ImagesError {
  readonly retryable = false;
  constructor(
    message: string,
    readonly code: string,
    readonly details: { param?: string; type?: string; innerError?: InnerError } = {},
    options?: { cause?: unknown },
  ) {
    super(message, {
      ...options,
      param: details.param,
      type: details.type ?? 'invalid_request_error',
      innerError: details.innerError,
    });
  }
}

/** The deployment's quota is spent; it takes requests again after `retryAfterMs`. */
export class ServiceThrottledError extends ImagesError {
  readonly code = '429';
  readonly retryable = true;
  declare readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number, options?: { cause?: unknown }) {
    super(message, { ...options, retryAfterMs });
  }
}

/** No answer in time. The image may still have been made and billed: never resent behind the caller's back. */
export class ServiceTimeoutError extends ImagesError {
  readonly code = 'UpstreamTimeout';
  readonly retryable = true;
  constructor(message = 'Azure OpenAI did not answer in time.', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The service refused the app's own credentials (a rotated key, a missing role). */
export class ServiceAuthError extends ImagesError {
  readonly code = 'UpstreamAuthenticationFailed';
  readonly retryable = true;
  constructor(options?: { cause?: unknown }) {
    super("Azure OpenAI refused the app's credentials.", options);
  }
}

/**
 * The service failed, could not be reached, or answered something unusable. `mayHaveGenerated` is
 * false when nothing can have been made (a refused connection, an error answer): then it may be
 * sent again without a second bill.
 */
export class ServiceFailedError extends ImagesError {
  readonly retryable = true;
  constructor(
    message: string,
    readonly code: string,
    readonly mayHaveGenerated: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// ---- The app's own dependencies ----------------------------------------------------------------

/** Storage, Key Vault, the app's own Functions host or Entra ID's keys could not be used; worth trying again after `retryAfterMs`. */
export class DependencyUnavailableError extends ImagesError {
  readonly retryable = true;
  declare readonly retryAfterMs: number;
  constructor(
    readonly dependency: 'Storage' | 'KeyVault' | 'FunctionsHost' | 'EntraId',
    message: string,
    retryAfterMs: number,
    options?: { cause?: unknown },
  ) {
    super(message, { ...options, retryAfterMs });
  }

  get code(): string {
    return `${this.dependency}Unavailable`;
  }
}

// ---- The app's settings -----------------------------------------------------------------------

/** What is wrong with one app setting. */
export interface SettingProblem {
  setting: string;
  problem: string;
}

/**
 * App settings the app cannot run on, each named with what is wrong. The app stays registered and
 * answers it (503) until they are fixed: the host would otherwise serve nothing but 404s.
 */
export class SettingsError extends ImagesError {
  readonly code = 'InvalidAppSettings';
  /** The request could succeed once an operator fixes the settings. */
  readonly retryable = true;
  constructor(readonly problems: SettingProblem[]) {
    super(`Invalid app settings. ${problems.map((p) => `${p.setting}: ${p.problem}`).join('; ')}`);
  }
}

// ---- zod's findings ----------------------------------------------------------------------------

/** zod's issues as one 400 that names the first field at fault; `model` says whose rules they were. */
export function fromZodIssues(issues: z.core.$ZodIssue[], model?: string): InvalidRequestError {
  const described = issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return {
        param: issue.keys[0],
        text: `Unknown field '${issue.keys.join("', '")}'${model ? ` for ${model}` : ''}.`,
      };
    }
    const field = issue.path.map(String).join('.') || 'body';
    const message = issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message;
    return { param: field, text: `Invalid value for '${field}': ${message}${model ? ` (model ${model})` : ''}.` };
  });
  return new InvalidRequestError(described.map((d) => d.text).join(' '), described[0].param);
}
