import { getBearerTokenProvider, type TokenCredential } from '@azure/identity';
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError, AzureOpenAI } from 'openai';
import type { ImageGenerateParamsNonStreaming } from 'openai/resources/images';
import { ApiError } from './errors.js';
import type { ApiKeySource } from './keys.js';
import type { ImageRequest } from './request.js';
import type { ImageData, ImagesResponse } from './schemas.js';

// The one call to Azure OpenAI, through the official client for its retries, timeouts and typed errors.

const COGNITIVE_SERVICES_SCOPE = 'https://cognitiveservices.azure.com/.default';

/** One image as the service returns it: our answer's shape, without `storage`. */
export type ServiceImage = ImageData;

/** Azure's images response; the filter fields the SDK's types do not name are in it too. */
export type ServiceResponse = ImagesResponse;

export interface Generation {
  body: ServiceResponse;
  /** The service's request id (apim-request-id), for support cases. */
  requestId?: string;
}

export type ServiceAuth = { kind: 'key'; keys: ApiKeySource } | { kind: 'entra'; credential: TokenCredential };

export interface ImageServiceOptions {
  endpoint: string;
  apiVersion: string;
  auth: ServiceAuth;
  /** Per attempt. */
  timeoutMs: number;
  maxRetries: number;
}

export class ImageService {
  private keyedClient?: { key: string; client: AzureOpenAI };
  private readonly entraClient?: AzureOpenAI;

  constructor(private readonly options: ImageServiceOptions) {
    if (options.auth.kind === 'entra') {
      this.entraClient = this.client({ azureADTokenProvider: getBearerTokenProvider(options.auth.credential, COGNITIVE_SERVICES_SCOPE) });
    }
  }

  /** Generates images on a deployment. `signal` bounds the whole call, retries included. */
  async generate(deployment: string, request: ImageRequest, signal?: AbortSignal): Promise<Generation> {
    const auth = this.options.auth;
    if (auth.kind === 'entra') return this.call(this.entraClient!, deployment, request, signal);
    const key = await auth.keys.get();
    try {
      return await this.call(this.clientFor(key), deployment, request, signal);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'UpstreamAuthenticationFailed')) throw err;
      // The key was rotated: read it again once and repeat, so the caller never sees the rotation.
      const fresh = await auth.keys.refresh(key);
      if (fresh === key) throw err;
      return this.call(this.clientFor(fresh), deployment, request, signal);
    }
  }

  private async call(client: AzureOpenAI, deployment: string, request: ImageRequest, signal?: AbortSignal): Promise<Generation> {
    const params = { ...request, model: deployment } as ImageGenerateParamsNonStreaming;
    try {
      const { data, response } = await client.images.generate(params, { signal }).withResponse();
      return {
        body: data as unknown as ServiceResponse,
        requestId: response.headers.get('apim-request-id') ?? response.headers.get('x-request-id') ?? undefined,
      };
    } catch (err) {
      throw fromServiceError(err);
    }
  }

  private clientFor(key: string): AzureOpenAI {
    if (this.keyedClient?.key !== key) this.keyedClient = { key, client: this.client({ apiKey: key }) };
    return this.keyedClient.client;
  }

  private client(auth: { apiKey: string } | { azureADTokenProvider: () => Promise<string> }): AzureOpenAI {
    return new AzureOpenAI({
      ...auth,
      endpoint: this.options.endpoint,
      apiVersion: this.options.apiVersion,
      timeout: this.options.timeoutMs,
      maxRetries: this.options.maxRetries,
      fetch: answerRateLimitsAtOnce,
    });
  }
}

/**
 * The SDK would sleep on a 429 inside our caller's time limit; a 429 is better handed back (HTTP) or
 * turned into a queue delay. `x-should-retry: false` is the SDK's own switch for that.
 */
async function answerRateLimitsAtOnce(url: string | URL | Request, init?: RequestInit): Promise<Response> {
  const response = await fetch(url, init);
  if (response.status !== 429) return response;
  const headers = new Headers(response.headers);
  headers.set('x-should-retry', 'false');
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/** Seconds to wait, from retry-after-ms or Retry-After; undefined when the service gave none. */
export function retryAfterSeconds(headers: Headers | undefined): number | undefined {
  const ms = Number(headers?.get('retry-after-ms') ?? NaN);
  if (ms > 0) return Math.ceil(ms / 1000);
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

function fromServiceError(err: unknown): ApiError {
  if (err instanceof APIUserAbortError || err instanceof APIConnectionTimeoutError) {
    return new ApiError(504, 'UpstreamTimeout', 'Azure OpenAI did not answer in time.', { cause: err });
  }
  if (err instanceof APIConnectionError) {
    return new ApiError(502, 'UpstreamUnreachable', 'Azure OpenAI could not be reached.', { cause: err });
  }
  if (!(err instanceof APIError) || err.status === undefined) {
    return new ApiError(502, 'UpstreamError', 'The call to Azure OpenAI failed.', { cause: err });
  }
  const body = (err.error ?? {}) as { code?: unknown; message?: unknown; type?: unknown; param?: unknown; inner_error?: unknown };
  const message = typeof body.message === 'string' ? body.message : `Azure OpenAI answered ${err.status}.`;
  const code = typeof body.code === 'string' ? body.code : String(err.status);
  if (err.status === 429) {
    const wait = retryAfterSeconds(err.headers) ?? 10;
    return new ApiError(429, code, message, { headers: { 'Retry-After': String(wait) }, cause: err });
  }
  if (err.status === 400) {
    // The caller's prompt or parameters, as the service judged them (the content filter among them).
    return new ApiError(400, code, message, {
      type: typeof body.type === 'string' ? body.type : 'invalid_request_error',
      param: typeof body.param === 'string' ? body.param : undefined,
      innerError: body.inner_error as Record<string, unknown> | undefined,
      cause: err,
    });
  }
  if (err.status === 401 || err.status === 403) {
    return new ApiError(502, 'UpstreamAuthenticationFailed', 'Azure OpenAI refused the app\'s credentials.', { cause: err });
  }
  if (err.status === 404) {
    return new ApiError(502, 'UpstreamDeploymentNotFound', `Azure OpenAI has no such deployment or api-version: ${message}`, { cause: err });
  }
  if (err.status === 408 || err.status === 504) {
    return new ApiError(504, 'UpstreamTimeout', 'Azure OpenAI did not answer in time.', { cause: err });
  }
  return new ApiError(502, 'UpstreamError', `Azure OpenAI answered ${err.status}: ${message}`, { cause: err });
}
