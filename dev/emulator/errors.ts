// The error answers Azure OpenAI gives, in its shape: {"error": {"code", "message", ...}}.
// Wording follows ../../shared/azure-openai/CONTRACT.md where the contract records it.

export interface AzureErrorBody {
  error: {
    code: string;
    message: string;
    param?: string;
    type?: string;
    inner_error?: unknown;
  };
}

/** An answer other than 200, thrown from anywhere in a request and written by the server. */
export class EmulatorHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: AzureErrorBody,
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
  new EmulatorHttpError(401, {
    error: {
      code: '401',
      message:
        'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
    },
  });

export const invalidToken = (): EmulatorHttpError =>
  new EmulatorHttpError(401, {
    error: {
      code: '401',
      message:
        'Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com), or have expired.',
    },
  });

/** A 400 about one request field; `param` names it so callers can point at it. */
export const invalidRequest = (message: string, param: string | undefined, code = 'invalid_request_error'): EmulatorHttpError =>
  new EmulatorHttpError(400, {
    error: { code, message, ...(param === undefined ? {} : { param }), type: 'invalid_request_error' },
  });

export const unparsableBody = (): EmulatorHttpError =>
  invalidRequest(
    "We could not parse the JSON body of your request. The API expects a JSON object, but what was sent was not valid JSON.",
    undefined,
  );

export const bodyTooLarge = (limit: number): EmulatorHttpError =>
  new EmulatorHttpError(413, {
    error: { code: 'RequestEntityTooLarge', message: `The request body is larger than ${limit} bytes.` },
  });

export const unsupportedApiVersion = (apiVersion: string, model: string, minimum: string): EmulatorHttpError =>
  new EmulatorHttpError(400, {
    error: {
      code: 'OperationNotSupported',
      message: `The images generations operation does not work with api-version ${apiVersion} for model ${model}. Use api-version ${minimum} or later.`,
      param: 'api-version',
      type: 'invalid_request_error',
    },
  });

export function rateLimited(apiVersion: string, retryAfterMs: number): EmulatorHttpError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new EmulatorHttpError(
    429,
    {
      error: {
        code: '429',
        message: `Requests to the Images_Generations_Create Operation under Azure OpenAI API version ${apiVersion} have exceeded call rate limit of your current OpenAI S0 pricing tier. Please retry after ${seconds} second${seconds === 1 ? '' : 's'}. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit.`,
      },
    },
    { 'retry-after': String(seconds), 'retry-after-ms': String(Math.max(0, Math.ceil(retryAfterMs))) },
  );
}

export const FILTER_MESSAGE =
  'Your request was rejected as a result of our safety system. Your prompt may contain text that is not allowed by our safety system.';

export const contentPolicyViolation = (revisedPrompt: string, contentFilterResults: unknown): EmulatorHttpError =>
  new EmulatorHttpError(400, {
    error: {
      code: 'content_policy_violation',
      message: FILTER_MESSAGE,
      type: 'invalid_request_error',
      inner_error: {
        code: 'ResponsibleAIPolicyViolation',
        revised_prompt: revisedPrompt,
        content_filter_results: contentFilterResults,
      },
    },
  });

const SERVER_FAILURES: Record<number, { code: string; message: string }> = {
  500: { code: 'InternalServerError', message: 'The server had an error while processing your request. Sorry about that!' },
  502: { code: 'BadGateway', message: 'The upstream server returned an invalid response.' },
  503: { code: 'ServiceUnavailable', message: 'The service is temporarily unable to process your request. Please try again later.' },
  504: { code: 'Timeout', message: 'The operation was timeout.' },
};

/** An injected failure (failureRate): a 429 looks like a quota answer, anything else like a server error. */
export function injectedFailure(status: number, apiVersion: string): EmulatorHttpError {
  if (status === 429) return rateLimited(apiVersion, 1000);
  const known = SERVER_FAILURES[status] ?? { code: String(status), message: `The service answered ${status}.` };
  return new EmulatorHttpError(status, { error: { ...known } });
}

export const internalError = (): EmulatorHttpError => injectedFailure(500, '');
