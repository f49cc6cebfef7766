import { getBearerTokenProvider, type TokenCredential } from '@azure/identity';
import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  AuthenticationError,
  AzureOpenAI,
  BadRequestError,
  InternalServerError,
  NotFoundError as SdkNotFoundError,
  PermissionDeniedError,
  RateLimitError,
} from 'openai';
import type { ImageGenerateParamsBase } from 'openai/resources/images';
import { withChildSignal, sleep } from '../platform/deadline.js';
import {
  ServiceAuthError,
  ServiceFailedError,
  ServiceRejectedError,
  ServiceThrottledError,
  ServiceTimeoutError,
} from '../core/errors.js';
import { isJsonObject, type JsonObject } from '../core/json.js';
import type { ApiKeySource } from './apiKeys.js';
import type {
  CallContext,
  Generation,
  ImageGenerator,
  ServiceOutput,
  StreamedGeneration,
  StreamEvent,
  Target,
} from './generator.js';

// The calls to one Azure OpenAI account, through the official client: the v1 API (the deployment in
// the body) or the dated path. The client does not retry: this module decides what may be sent
// again, since a resent image is a second bill. Wire answers are mapped here to the app's types.

/** Scopes for Entra ID tokens: Learn's v1 examples ask for ai.azure.com, the dated API for cognitiveservices. */
const SCOPES = { v1: 'https://ai.azure.com/.default', dated: 'https://cognitiveservices.azure.com/.default' };

/** When a 429 says nothing of when to come back. */
export const DEFAULT_THROTTLE_MS = 10_000;

export type ServiceAuth = { kind: 'key'; keys: ApiKeySource } | { kind: 'entra'; credential: TokenCredential };

export interface ImageServiceOptions {
  endpoint: string;
  /** `v1`, or a dated api-version for the deployments path. */
  apiVersion: string;
  auth: ServiceAuth;
  /** Per attempt, until the answer starts. */
  timeoutMs: number;
  /** Attempts after the first, only where nothing can have been generated. */
  maxRetries: number;
}

type Client = OpenAI;

export class ImageService implements ImageGenerator {
  private keyed?: { key: string; client: Client };
  private readonly keyless?: Client;
  private readonly v1: boolean;

  constructor(private readonly options: ImageServiceOptions) {
    this.v1 = options.apiVersion === 'v1';
    if (options.auth.kind === 'entra') {
      this.keyless = this.client(getBearerTokenProvider(options.auth.credential, this.v1 ? SCOPES.v1 : SCOPES.dated));
    }
  }

  async generate(target: Target, { signal }: CallContext): Promise<Generation> {
    return this.attempt(signal, async (client, attemptSignal) => {
      const { data, response } = await client.images
        .generate(this.body(target, false), { signal: attemptSignal })
        .withResponse();
      return fromWire(data as unknown as JsonObject, requestIdOf(response.headers));
    });
  }

  async stream(target: Target, { signal }: CallContext): Promise<StreamedGeneration> {
    return this.attempt(signal, async (client) => {
      // The stream outlives this attempt: it follows the caller's signal, not an attempt's child.
      const { data, response } = await client.images
        .generate({ ...this.body(target, true), stream: true }, { signal })
        .withResponse();
      return {
        events: mapStreamErrors(data as AsyncIterable<unknown> as AsyncIterable<StreamEvent>),
        requestId: requestIdOf(response.headers),
      };
    });
  }

  private body(target: Target, stream: boolean): ImageGenerateParamsBase {
    const { stream: _stream, partial_images, ...params } = target.params;
    return {
      ...params,
      ...(stream && partial_images !== undefined && { partial_images }),
      model: target.deployment,
    } as ImageGenerateParamsBase;
  }

  /**
   * Runs a call with the key of the moment, again with a fresh key when the service refuses it (a
   * rotation), and again after a failure that cannot have generated anything.
   */
  private async attempt<T>(
    signal: AbortSignal | undefined,
    call: (client: Client, signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const auth = this.options.auth;
    let key = auth.kind === 'key' ? await auth.keys.get() : undefined;
    let rotated = false;
    for (let retry = 0; ; retry++) {
      try {
        return await withChildSignal(signal, (attemptSignal) =>
          call(key === undefined ? this.keyless! : this.clientFor(key), attemptSignal),
        );
      } catch (raw) {
        const err = fromServiceError(raw);
        if (err instanceof ServiceAuthError && auth.kind === 'key' && !rotated) {
          rotated = true;
          const fresh = await auth.keys.refresh(key!);
          if (fresh === key) throw err;
          key = fresh;
          continue;
        }
        if (!(err instanceof ServiceFailedError) || err.mayHaveGenerated || retry >= this.options.maxRetries) throw err;
        await backoff(retry, signal, raw);
      }
    }
  }

  private clientFor(key: string): Client {
    if (this.keyed?.key !== key) this.keyed = { key, client: this.client(key) };
    return this.keyed.client;
  }

  private client(apiKey: string | (() => Promise<string>)): Client {
    const common = { timeout: this.options.timeoutMs, maxRetries: 0 };
    if (this.v1)
      return new OpenAI({ ...common, apiKey, baseURL: `${this.options.endpoint.replace(/\/+$/, '')}/openai/v1/` });
    return new AzureOpenAI({
      ...common,
      endpoint: this.options.endpoint,
      apiVersion: this.options.apiVersion,
      ...(typeof apiKey === 'string' ? { apiKey } : { azureADTokenProvider: apiKey }),
    });
  }
}

const requestIdOf = (headers: Headers) => headers.get('apim-request-id') ?? headers.get('x-request-id') ?? undefined;

function fromWire(body: JsonObject, requestId: string | undefined): Generation {
  const { created, data, usage, size, quality, background, output_format, ...extra } = body;
  return {
    created: typeof created === 'number' ? created : Math.floor(Date.now() / 1000),
    images: Array.isArray(data) ? data.filter(isJsonObject) : [],
    output: outputOf({ size, quality, background, output_format }),
    ...(isJsonObject(usage) && { usage }),
    extra,
    ...(requestId !== undefined && { requestId }),
  };
}

/** A stream's completed event as the generation of its one image, with what the stream said of itself. */
export function completedGeneration(event: StreamEvent, stream: Omit<StreamedGeneration, 'events'>): Generation {
  const { b64_json, usage, created_at, size, quality, background, output_format } = event;
  const { requestId, backend, attempts } = stream;
  return {
    ...fromWire(
      { created: created_at, data: [{ b64_json }], usage, size, quality, background, output_format },
      requestId,
    ),
    ...(backend && { backend }),
    ...(attempts && { attempts }),
  };
}

function outputOf(values: Record<string, unknown>): ServiceOutput {
  return Object.fromEntries(Object.entries(values).filter((entry) => typeof entry[1] === 'string'));
}

async function* mapStreamErrors(events: AsyncIterable<StreamEvent>): AsyncIterable<StreamEvent> {
  try {
    yield* events;
  } catch (err) {
    throw fromServiceError(err);
  }
}

/** How long a 429 asks to wait, from whichever of Azure's headers it sent; undefined when none. */
export function throttleDelayMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  const ms = Number(headers?.get('retry-after-ms') ?? headers?.get('x-ms-retry-after-ms') ?? NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const retryAfter = headers?.get('retry-after');
  if (retryAfter) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  // x-ratelimit-reset-requests: a duration such as "12s", "1m30s" or "250ms".
  const reset = headers?.get('x-ratelimit-reset-requests');
  if (reset) {
    let total = 0;
    let matched = '';
    for (const [part, amount, unit] of reset.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
      total += Number(amount) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h'];
      matched += part;
    }
    if (matched === reset.trim() && matched !== '') return total;
  }
  return undefined;
}

/** Connection failures that happen before a request is sent: nothing can have been generated. */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function connectionCode(err: unknown): string | undefined {
  for (let cause = err; isJsonObject(cause); cause = cause.cause) {
    if (typeof cause.code === 'string' && NOT_SENT.has(cause.code)) return cause.code;
  }
  return undefined;
}

/**
 * The wait before another round of what made nothing: 250 ms, doubling, at most 4 s. A deadline
 * that ends the wait ends the call as a timeout.
 */
export function backoff(retry: number, signal: AbortSignal | undefined, cause: unknown): Promise<void> {
  return sleep(Math.min(4000, 250 * 2 ** retry), signal).catch(() => {
    throw new ServiceTimeoutError(undefined, { cause });
  });
}

/** The SDK's typed errors in the app's terms. */
export function fromServiceError(err: unknown): Error {
  if (err instanceof ServiceTimeoutError || err instanceof ServiceFailedError || err instanceof ServiceThrottledError)
    return err;
  if (err instanceof APIUserAbortError || err instanceof APIConnectionTimeoutError)
    return new ServiceTimeoutError(undefined, { cause: err });
  if (err instanceof APIConnectionError) {
    const code = connectionCode(err);
    // A connection dropped after the request went out is a broken answer (502), not a wait that ran
    // out (504); either way the image may have been made and billed, so neither is sent again.
    return code
      ? new ServiceFailedError(`Azure OpenAI could not be reached (${code}).`, 'UpstreamUnreachable', false, {
          cause: err,
        })
      : new ServiceFailedError(
          'The connection to Azure OpenAI was lost after the request was sent: the image may have been made and billed, so it was not sent again.',
          'UpstreamUnreachable',
          true,
          { cause: err },
        );
  }
  if (!(err instanceof APIError)) {
    return err instanceof Error && err.name === 'AbortError'
      ? new ServiceTimeoutError(undefined, { cause: err })
      : new ServiceFailedError('The call to Azure OpenAI failed.', 'UpstreamError', true, { cause: err });
  }
  const body = (isJsonObject(err.error) ? err.error : {}) as {
    code?: unknown;
    message?: unknown;
    type?: unknown;
    param?: unknown;
    inner_error?: unknown;
  };
  const message =
    typeof body.message === 'string' ? body.message : `Azure OpenAI answered ${err.status ?? 'an error'}.`;
  if (err instanceof RateLimitError)
    return new ServiceThrottledError(message, throttleDelayMs(err.headers) ?? DEFAULT_THROTTLE_MS, { cause: err });
  if (err instanceof BadRequestError || (err.status === undefined && typeof body.code === 'string')) {
    // The caller's prompt or parameters, as the service judged them (the content filter among them).
    return new ServiceRejectedError(
      message,
      typeof body.code === 'string' ? body.code : '400',
      {
        ...(typeof body.param === 'string' && { param: body.param }),
        ...(typeof body.type === 'string' && { type: body.type }),
        ...(isJsonObject(body.inner_error) && { innerError: body.inner_error }),
      },
      { cause: err },
    );
  }
  if (err instanceof AuthenticationError || err instanceof PermissionDeniedError)
    return new ServiceAuthError({ cause: err });
  if (err instanceof SdkNotFoundError) {
    return new ServiceFailedError(
      `Azure OpenAI has no such deployment or api-version: ${message}`,
      'UpstreamDeploymentNotFound',
      false,
      { cause: err },
    );
  }
  // A gateway timeout may hide a generation that went on: as ambiguous as our own timeout.
  if (err.status === 408 || err.status === 504) return new ServiceTimeoutError(undefined, { cause: err });
  // A 5xx answer is not billed, so it may be sent again.
  return new ServiceFailedError(
    `Azure OpenAI answered ${err.status}: ${message}`,
    'UpstreamError',
    !(err instanceof InternalServerError),
    { cause: err },
  );
}
