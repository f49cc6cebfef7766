import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { describe, expect, it } from 'vitest';
import { ERROR_STATUSES, errorAnswer } from '../../src/lib/core/errorAnswer.js';
import * as errorClasses from '../../src/lib/core/errors.js';
import {
  DependencyUnavailableError,
  DeploymentNotFoundError,
  IdempotencyKeyInUseError,
  IdempotencyKeyReusedError,
  InvalidRequestError,
  NotFoundError,
  RequestTooLargeError,
  ServiceAuthError,
  ServiceFailedError,
  ServiceRejectedError,
  ServiceThrottledError,
  ServiceTimeoutError,
  TooManyRequestsError,
  UnauthorizedError,
} from '../../src/lib/core/errors.js';
import { fromServiceError, throttleDelayMs } from '../../src/lib/generation/azureOpenAI.js';

// Typed errors meet HTTP in one table; the SDK's typed errors meet ours in one function.

describe('errorAnswer: every documented status, from the error type alone', () => {
  it.each([
    [
      new InvalidRequestError("Invalid value for 'n'.", 'n'),
      400,
      { code: 'invalid_request_error', param: 'n', type: 'invalid_request_error' },
    ],
    [
      new ServiceRejectedError('Rejected by the safety system.', 'content_policy_violation', {
        innerError: { code: 'ResponsibleAIPolicyViolation' },
      }),
      400,
      { code: 'content_policy_violation', inner_error: { code: 'ResponsibleAIPolicyViolation' } },
    ],
    [new UnauthorizedError('No token.', 'token'), 401, { code: 'Unauthorized', param: 'token' }],
    [new DeploymentNotFoundError('nope'), 404, { code: 'DeploymentNotFound' }],
    [new NotFoundError('No job.'), 404, { code: 'NotFound' }],
    [new IdempotencyKeyInUseError(10_000), 409, { code: 'IdempotencyKeyInUse', param: 'Idempotency-Key' }],
    [new RequestTooLargeError(1024), 413, { code: 'request_too_large' }],
    [new IdempotencyKeyReusedError(), 422, { code: 'IdempotencyKeyReused' }],
    [new ServiceThrottledError('Quota.', 12_001), 429, { code: '429' }],
    [new TooManyRequestsError('Busy.', 10_000), 429, { code: 'TooManyRequests' }],
    [new ServiceAuthError(), 502, { code: 'UpstreamAuthenticationFailed' }],
    [new ServiceFailedError('Down.', 'UpstreamError', false), 502, { code: 'UpstreamError' }],
    [new DependencyUnavailableError('Storage', 'Away.', 5_000), 503, { code: 'StorageUnavailable' }],
    [new DependencyUnavailableError('KeyVault', 'Away.', 10_000), 503, { code: 'KeyVaultUnavailable' }],
    [new ServiceTimeoutError(), 504, { code: 'UpstreamTimeout' }],
  ])('%s', (err, status, error) => {
    const answer = errorAnswer(err);
    expect(answer.status).toBe(status);
    expect(answer.body.error).toMatchObject({ ...error, message: err.message });
  });

  it('rounds the wait up to whole seconds for Retry-After, where there is one', () => {
    expect(errorAnswer(new ServiceThrottledError('q', 12_001)).retryAfterSeconds).toBe(13);
    expect(errorAnswer(new ServiceThrottledError('q', 0)).retryAfterSeconds).toBe(1);
    expect(errorAnswer(new DependencyUnavailableError('Storage', 'a', 5_000)).retryAfterSeconds).toBe(5);
    expect(errorAnswer(new TooManyRequestsError('Busy.', 10_000)).retryAfterSeconds).toBe(10);
    expect(errorAnswer(new ServiceTimeoutError()).retryAfterSeconds).toBeUndefined();
  });

  it('gives every error class of core/errors.ts a status, in one row of the table', () => {
    const classes = Object.entries(errorClasses).filter(
      ([, value]) => typeof value === 'function' && value.prototype instanceof errorClasses.ImagesError,
    );
    const rows = Object.values(ERROR_STATUSES).flatMap(({ errors }): unknown[] => errors);
    expect(classes.length).toBeGreaterThan(15);
    for (const [name, type] of classes)
      expect(
        rows.filter((row) => row === type),
        name,
      ).toHaveLength(1);
  });

  it('says nothing of what it did not foresee', () => {
    const answer = errorAnswer(new TypeError('secret detail'));
    expect(answer).toEqual({
      status: 500,
      body: { error: { code: 'InternalServerError', message: 'The server could not complete the request.' } },
    });
  });
});

const apiError = (status: number, error: object, headers: Record<string, string> = {}) =>
  APIError.generate(status, { error }, undefined, new Headers(headers));

describe("fromServiceError: the openai SDK's classes", () => {
  it('a 429 is throttled, for as long as it says', () => {
    const err = fromServiceError(apiError(429, { code: '429', message: 'Quota.' }, { 'retry-after-ms': '2500' }));
    expect(err).toBeInstanceOf(ServiceThrottledError);
    expect((err as ServiceThrottledError).retryAfterMs).toBe(2500);
    expect((fromServiceError(apiError(429, {})) as ServiceThrottledError).retryAfterMs).toBe(10_000);
  });

  it('a 400 is the service refusing the request, with its details', () => {
    const err = fromServiceError(
      apiError(400, {
        code: 'content_policy_violation',
        message: 'No.',
        inner_error: { code: 'ResponsibleAIPolicyViolation' },
      }),
    );
    expect(err).toBeInstanceOf(ServiceRejectedError);
    expect(err).toMatchObject({
      code: 'content_policy_violation',
      details: { innerError: { code: 'ResponsibleAIPolicyViolation' } },
    });
  });

  it('401 and 403 are the app’s credentials', () => {
    expect(fromServiceError(apiError(401, {}))).toBeInstanceOf(ServiceAuthError);
    expect(fromServiceError(apiError(403, {}))).toBeInstanceOf(ServiceAuthError);
  });

  it('timeouts, aborts and gateway timeouts are ambiguous: a timeout, never resent', () => {
    expect(fromServiceError(new APIConnectionTimeoutError())).toBeInstanceOf(ServiceTimeoutError);
    expect(fromServiceError(new APIUserAbortError())).toBeInstanceOf(ServiceTimeoutError);
    expect(fromServiceError(apiError(504, {}))).toBeInstanceOf(ServiceTimeoutError);
  });

  it('a 5xx answer and a refused connection made nothing; a dropped connection may have', () => {
    expect(fromServiceError(apiError(503, {}))).toMatchObject({ mayHaveGenerated: false });
    const refused = new APIConnectionError({
      cause: Object.assign(new Error('fetch failed'), {
        cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
      }),
    });
    expect(fromServiceError(refused)).toMatchObject({ mayHaveGenerated: false, code: 'UpstreamUnreachable' });
    const reset = new APIConnectionError({
      cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
    });
    expect(fromServiceError(reset)).toMatchObject({ mayHaveGenerated: true });
  });
});

describe('throttleDelayMs: each of Azure’s forms', () => {
  const now = Date.parse('2026-11-26T12:00:00Z');
  it.each([
    [{ 'retry-after-ms': '1500', 'retry-after': '9' }, 1500],
    [{ 'x-ms-retry-after-ms': '2200' }, 2200],
    [{ 'retry-after': '7' }, 7000],
    [{ 'retry-after': 'Thu, 26 Nov 2026 12:00:30 GMT' }, 30_000],
    [{ 'x-ratelimit-reset-requests': '12s' }, 12_000],
    [{ 'x-ratelimit-reset-requests': '1m30s' }, 90_000],
    [{ 'x-ratelimit-reset-requests': '250ms' }, 250],
    [{ 'retry-after': '86400' }, 86_400_000],
  ])('%o', (headers, ms) => {
    expect(throttleDelayMs(new Headers(headers), now)).toBe(ms);
  });
  it('is undefined when the answer says nothing usable', () => {
    expect(throttleDelayMs(new Headers(), now)).toBeUndefined();
    expect(throttleDelayMs(new Headers({ 'x-ratelimit-reset-requests': 'soon' }), now)).toBeUndefined();
  });
});
