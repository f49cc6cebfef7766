// The answers other than 200 Azure OpenAI gives, in its shape {"error": {"code", "message", ...}},
// worded as the contract (docs/azure-openai-contract.md) records them where it does.

export interface AzureErrorBody {
  error: {
    code: string;
    message: string;
    param?: string | null;
    type?: string;
    inner_error?: unknown;
  };
}

/** The stats counter an error answer adds to. */
export type ErrorCounter = 'invalid' | 'unauthorized' | 'rateLimited' | 'filtered' | 'failed';

/** An answer other than 200, thrown from anywhere in a request and written by the server. */
export class EmulatorHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: AzureErrorBody,
    readonly counter?: ErrorCounter,
    readonly headers: Record<string, string> = {},
  ) {
    super(body.error.message);
    this.name = 'EmulatorHttpError';
  }
}

export const resourceNotFound = (): EmulatorHttpError =>
  new EmulatorHttpError(404, { error: { code: '404', message: 'Resource not found' } });

export const deploymentNotFound = (): EmulatorHttpError =>
  new EmulatorHttpError(404, {
    error: {
      code: 'DeploymentNotFound',
      message:
        'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.',
    },
  });

export const invalidApiKey = (): EmulatorHttpError =>
  new EmulatorHttpError(
    401,
    {
      error: {
        code: '401',
        message:
          'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
      },
    },
    'unauthorized',
  );

export const invalidToken = (audiences: readonly string[]): EmulatorHttpError =>
  new EmulatorHttpError(
    401,
    {
      error: {
        code: '401',
        message: `Unauthorized. Access token is missing, invalid, audience is incorrect (${audiences.join(' or ')}), or have expired.`,
      },
    },
    'unauthorized',
  );

/** A 400 about one request field: `param` names it so a caller can point at it. */
export const invalidRequest = (
  message: string,
  param: string | null,
  code = 'invalid_request_error',
): EmulatorHttpError =>
  new EmulatorHttpError(400, { error: { code, message, param, type: 'invalid_request_error' } }, 'invalid');

export const unparsableBody = (): EmulatorHttpError =>
  invalidRequest(
    'We could not parse the JSON body of your request. The API expects a JSON object, but what was sent was not valid JSON.',
    null,
  );

export const bodyTooLarge = (limit: number): EmulatorHttpError =>
  new EmulatorHttpError(
    413,
    { error: { code: 'RequestEntityTooLarge', message: `The request body is larger than ${limit} bytes.` } },
    'invalid',
  );

export const unsupportedApiVersion = (apiVersion: string, model: string, minimum: string): EmulatorHttpError =>
  new EmulatorHttpError(
    400,
    {
      error: {
        code: 'OperationNotSupported',
        message: `The images generations operation does not work with api-version ${apiVersion} for model ${model}. Use api-version ${minimum} or later.`,
        param: 'api-version',
        type: 'invalid_request_error',
      },
    },
    'invalid',
  );

/** The v1 surface takes no dated api-version (wording not confirmed). */
export const v1ApiVersion = (apiVersion: string): EmulatorHttpError =>
  new EmulatorHttpError(
    400,
    {
      error: {
        code: 'BadRequest',
        message: `API version not supported: ${apiVersion}. The v1 API takes api-version 'preview', 'latest' or none.`,
        param: 'api-version',
        type: 'invalid_request_error',
      },
    },
    'invalid',
  );

/**
 * Headers a 429 may carry. Azure sends `Retry-After` (seconds) and `retry-after-ms`; some answers
 * `x-ms-retry-after-ms`, rate-limit answers `x-ratelimit-reset-requests`; RFC 9110 also allows
 * `Retry-After` as an HTTP date (`retry-after-date`). Clients must cope with each, and with none.
 */
export const THROTTLE_HEADERS = [
  'retry-after',
  'retry-after-date',
  'retry-after-ms',
  'x-ms-retry-after-ms',
  'x-ratelimit-reset-requests',
] as const;
export type ThrottleHeader = (typeof THROTTLE_HEADERS)[number];

function throttleHeaders(forms: readonly ThrottleHeader[], waitMs: number, seconds: number): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const form of forms) {
    if (form === 'retry-after') headers['retry-after'] = String(seconds);
    // HTTP dates have whole seconds: round up so a client that waits until then is not early.
    if (form === 'retry-after-date')
      headers['retry-after'] = new Date(Math.ceil((Date.now() + waitMs) / 1000) * 1000).toUTCString();
    if (form === 'retry-after-ms' || form === 'x-ms-retry-after-ms') headers[form] = String(Math.ceil(waitMs));
    if (form === 'x-ratelimit-reset-requests') headers[form] = `${seconds}s`;
  }
  return headers;
}

export function rateLimited(
  apiVersion: string,
  waitMs: number,
  forms: readonly ThrottleHeader[],
  counter: ErrorCounter = 'rateLimited',
): EmulatorHttpError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return new EmulatorHttpError(
    429,
    {
      error: {
        code: '429',
        message: `Requests to the Images_Generations_Create Operation under Azure OpenAI API version ${apiVersion} have exceeded call rate limit of your current OpenAI S0 pricing tier. Please retry after ${seconds} second${seconds === 1 ? '' : 's'}. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit.`,
      },
    },
    counter,
    throttleHeaders(forms, waitMs, seconds),
  );
}

const FILTER_MESSAGE =
  'Your request was rejected as a result of our safety system. Your prompt may contain text that is not allowed by our safety system.';

/** gpt-image models do not rewrite prompts: `revised_prompt` repeats the one sent. */
export const contentPolicyViolation = (prompt: string, contentFilterResults: unknown): EmulatorHttpError =>
  new EmulatorHttpError(
    400,
    {
      error: {
        code: 'content_policy_violation',
        message: FILTER_MESSAGE,
        type: 'invalid_request_error',
        inner_error: {
          code: 'ResponsibleAIPolicyViolation',
          revised_prompt: prompt,
          content_filter_results: contentFilterResults,
        },
      },
    },
    'filtered',
  );

// The contract does not record a 5xx body; these follow Azure's usual {code, message}.
const SERVER_FAILURES: Record<number, { code: string; message: string }> = {
  500: {
    code: 'InternalServerError',
    message: 'The server had an error while processing your request. Sorry about that!',
  },
  502: { code: 'BadGateway', message: 'The upstream server returned an invalid response.' },
  503: {
    code: 'ServiceUnavailable',
    message: 'The service is temporarily unable to process your request. Please try again later.',
  },
  504: { code: 'Timeout', message: 'The operation was timeout.' },
};

/** An injected failure (failureRate): a 429 looks like a quota answer, anything else like a server error. */
export function injectedFailure(
  status: number,
  apiVersion: string,
  retryAfterMs: number,
  forms: readonly ThrottleHeader[],
): EmulatorHttpError {
  if (status === 429) return rateLimited(apiVersion, retryAfterMs, forms, 'failed');
  const known = SERVER_FAILURES[status] ?? { code: String(status), message: `The service answered ${status}.` };
  return new EmulatorHttpError(status, { error: { ...known } }, 'failed');
}

/** The emulator's own fault: not counted as an injected failure. */
export const internalError = (): EmulatorHttpError =>
  new EmulatorHttpError(500, { error: { ...SERVER_FAILURES[500] } });
