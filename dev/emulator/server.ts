// An offline stand-in for Azure OpenAI's image generation REST API: same routes, auth, per-model
// validation, content filter, quota and error bodies as the service, with deterministic images.
// Tests and local runs point the app's endpoint at it; configure() changes behaviour mid-run.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { MODELS, isModelName, type ModelName } from './models.js';
import { checkAuth } from './auth.js';
import {
  EmulatorHttpError,
  bodyTooLarge,
  contentPolicyViolation,
  deploymentNotFound,
  injectedFailure,
  internalError,
  invalidRequest,
  rateLimited,
  resourceNotFound,
  unsupportedApiVersion,
} from './errors.js';
import { FILE_ROUTE, FileStore } from './files.js';
import { renderImage } from './images.js';
import { parseJsonBody, validateGeneration, type GenerationRequest } from './validation.js';

export interface EmulatorOptions {
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Deployment name → model name (a key of MODELS). */
  deployments?: Record<string, string>;
  /** Accepted `api-key` header values. */
  apiKeys?: string[];
  /** Accept Entra ID bearer tokens for https://cognitiveservices.azure.com (signature unchecked). */
  acceptBearer?: boolean;
  /** Delay added before answering a generation. */
  latencyMs?: number;
  /** Per-deployment quota over a sliding 60 s window; undefined = none. */
  requestsPerMinute?: number;
  /** Share of generations (0..1) answered with one of failureStatuses. */
  failureRate?: number;
  failureStatuses?: number[];
  /** Prompts containing one of these (case-insensitive) are rejected by the content filter. */
  blockedWords?: string[];
  /** Render noisy images the weight of the real service's (~1.5 MB per 1024x1024 PNG). */
  realisticSize?: boolean;
  /** Lifetime of `url` answers. */
  urlTtlSeconds?: number;
  /** Memory kept for `url` answers before the oldest are evicted. */
  maxStoredBytes?: number;
}

/** Everything configure() may change, with defaults applied. */
export interface EmulatorSettings {
  deployments: Record<string, ModelName>;
  apiKeys: string[];
  acceptBearer: boolean;
  latencyMs: number;
  requestsPerMinute: number | undefined;
  failureRate: number;
  failureStatuses: number[];
  blockedWords: string[];
  realisticSize: boolean;
  urlTtlSeconds: number;
  maxStoredBytes: number;
}

export type EmulatorConfig = Omit<EmulatorOptions, 'host' | 'port'>;

export interface EmulatorStats {
  /** Every request to an API route (file downloads excluded). */
  requests: number;
  /** Successful image generation requests, in all and per deployment. */
  generations: number;
  generationsByDeployment: Record<string, number>;
  /** Images returned across successful generations (n summed). */
  images: number;
  rateLimited: number;
  /** Injected failures (failureRate). */
  failed: number;
  unauthorized: number;
  /** Prompts rejected by the content filter. */
  filtered: number;
  /** 400s for bodies the model's rules reject. */
  invalid: number;
  /** Successful `url` downloads. */
  downloads: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export interface OpenAIEmulator {
  /** The Azure OpenAI endpoint, e.g. http://127.0.0.1:8090. */
  readonly url: string;
  readonly port: number;
  /** Live counters; resetStats() zeroes them. */
  readonly stats: EmulatorStats;
  readonly settings: Readonly<EmulatorSettings>;
  /** The last API request received, for asserting what a client sent. */
  readonly lastRequest: RecordedRequest | undefined;
  configure(options: EmulatorConfig): void;
  resetStats(): void;
  close(): Promise<void>;
}

const DEFAULTS: EmulatorSettings = {
  deployments: { 'dall-e-3': 'dall-e-3', 'gpt-image-1': 'gpt-image-1' },
  apiKeys: ['emulator-key'],
  acceptBearer: true,
  latencyMs: 0,
  requestsPerMinute: undefined,
  failureRate: 0,
  failureStatuses: [500, 503],
  blockedWords: ['forbidden-example'],
  realisticSize: false,
  urlTtlSeconds: 86_400,
  maxStoredBytes: 256 * 1024 * 1024,
};
export const DEFAULT_SETTINGS: Readonly<EmulatorSettings> = Object.freeze(DEFAULTS);

/** gpt-image models arrived with this api-version; older ones do not know them. */
export const GPT_IMAGE_MIN_API_VERSION = '2025-04-01-preview';
const API_VERSION = /^(\d{4}-\d{2}-\d{2})(-preview)?$/;
const DATED_ROUTE = /^\/openai\/deployments\/([^/]+)\/images\/generations\/?$/;
const V1_ROUTE = /^\/openai\/v1\/images\/generations\/?$/;
const QUOTA_WINDOW_MS = 60_000;
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export async function startOpenAIEmulator(options: EmulatorOptions = {}): Promise<OpenAIEmulator> {
  const { host = '127.0.0.1', port = 0, ...config } = options;
  const emulator = new Emulator(applyConfig({ ...DEFAULT_SETTINGS }, config));
  return emulator.listen(host, port);
}

/** Settings with `config`'s fields applied, after checking them. */
function applyConfig(base: EmulatorSettings, config: EmulatorConfig): EmulatorSettings {
  const next: EmulatorSettings = { ...base };
  for (const [key, value] of Object.entries(config) as [keyof EmulatorConfig, unknown][]) {
    if (!(key in DEFAULTS)) continue; // host/port only apply at start
    // An explicit undefined clears the quota; for other fields it means "leave as is".
    if (value === undefined && key !== 'requestsPerMinute') continue;
    (next as unknown as Record<string, unknown>)[key] = value;
  }
  next.deployments = checkDeployments(next.deployments);
  checkRange('failureRate', next.failureRate, 0, 1);
  checkRange('latencyMs', next.latencyMs, 0, Number.MAX_SAFE_INTEGER);
  checkRange('urlTtlSeconds', next.urlTtlSeconds, 0, Number.MAX_SAFE_INTEGER);
  if (next.requestsPerMinute !== undefined) checkRange('requestsPerMinute', next.requestsPerMinute, 1, Number.MAX_SAFE_INTEGER);
  if (next.failureStatuses.length === 0) throw new RangeError('failureStatuses must name at least one status');
  return next;
}

function checkDeployments(deployments: Record<string, string>): Record<string, ModelName> {
  for (const [name, model] of Object.entries(deployments)) {
    if (!isModelName(model)) throw new RangeError(`Deployment ${name}: unknown model ${model} (known: ${Object.keys(MODELS).join(', ')})`);
  }
  return { ...deployments } as Record<string, ModelName>;
}

function checkRange(name: string, value: number, min: number, max: number): void {
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) {
    throw new RangeError(`${name} must be a number from ${min} to ${max}, got ${value}`);
  }
}

function emptyStats(): EmulatorStats {
  return { requests: 0, generations: 0, generationsByDeployment: {}, images: 0, rateLimited: 0, failed: 0, unauthorized: 0, filtered: 0, invalid: 0, downloads: 0 };
}

/** What a route resolved to before the body's rules apply. */
interface Target {
  deployment: string;
  model: ModelName;
  /** As sent, or 'v1' on the v1 API without one; quoted in 429 messages. */
  apiVersion: string;
  body: Record<string, unknown>;
}

class Emulator implements OpenAIEmulator {
  url = '';
  port = 0;
  lastRequest: RecordedRequest | undefined;
  private readonly server: Server;
  private readonly files: FileStore;
  private readonly quotaWindows = new Map<string, number[]>();
  private readonly closing = new AbortController();
  private currentStats = emptyStats();

  constructor(private current: EmulatorSettings) {
    this.files = new FileStore(current.maxStoredBytes);
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  get stats(): EmulatorStats {
    return this.currentStats;
  }

  get settings(): Readonly<EmulatorSettings> {
    return this.current;
  }

  listen(host: string, port: number): Promise<this> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        this.port = (this.server.address() as AddressInfo).port;
        this.url = `http://${urlHost(host)}:${this.port}`;
        resolve(this);
      });
    });
  }

  configure(config: EmulatorConfig): void {
    this.current = applyConfig(this.current, config);
    this.files.maxBytes = this.current.maxStoredBytes;
    // A new quota starts from an empty window, so tests need not wait out earlier calls.
    if ('requestsPerMinute' in config) this.quotaWindows.clear();
  }

  resetStats(): void {
    Object.assign(this.currentStats, emptyStats());
  }

  close(): Promise<void> {
    this.closing.abort();
    this.files.clear();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    res.setHeader('apim-request-id', requestId);
    res.setHeader('x-request-id', requestId);
    const url = new URL(req.url ?? '/', 'http://emulator');
    try {
      const file = FILE_ROUTE.exec(url.pathname);
      if (file && (req.method === 'GET' || req.method === 'HEAD')) return this.serveFile(req, res, file[1], file[2], url.searchParams);
      const dated = DATED_ROUTE.exec(url.pathname);
      const v1 = V1_ROUTE.test(url.pathname);
      if (req.method !== 'POST' || (!dated && !v1)) throw resourceNotFound();
      this.currentStats.requests++;
      const text = await readBody(req);
      const target = dated ? this.resolveDated(req, decodeURIComponent(dated[1]), url, text) : this.resolveV1(req, url, text);
      this.admit(res, target);
      const generation = this.validate(target);
      await this.generate(req, res, target, generation);
    } catch (error) {
      this.sendError(res, error);
    }
  }

  private serveFile(req: IncomingMessage, res: ServerResponse, id: string, extension: string, query: URLSearchParams): void {
    this.files.serve(res, id, extension, query, req.method === 'HEAD');
    if (res.statusCode === 200) this.currentStats.downloads++;
  }

  /** `/openai/deployments/{deployment}/images/generations?api-version=...` */
  private resolveDated(req: IncomingMessage, deployment: string, url: URL, text: string): Target {
    this.authenticate(req, false);
    const apiVersion = url.searchParams.get('api-version') ?? '';
    const version = API_VERSION.exec(apiVersion);
    if (!version) throw resourceNotFound();
    this.record(req, url, text);
    const model = this.current.deployments[deployment];
    if (!model) throw deploymentNotFound();
    if (model.startsWith('gpt-image') && version[1] < GPT_IMAGE_MIN_API_VERSION.slice(0, 10)) {
      throw unsupportedApiVersion(apiVersion, model, GPT_IMAGE_MIN_API_VERSION);
    }
    return { deployment, model, apiVersion, body: this.parse(text) };
  }

  /** `/openai/v1/images/generations`: the deployment comes from the body's `model`. */
  private resolveV1(req: IncomingMessage, url: URL, text: string): Target {
    this.authenticate(req, true);
    this.record(req, url, text);
    const body = this.parse(text);
    const deployment = body.model;
    if (typeof deployment !== 'string' || deployment === '') {
      this.currentStats.invalid++;
      throw invalidRequest("Missing required parameter: 'model'. On the v1 API it names the deployment.", 'model', 'missing_required_parameter');
    }
    const model = this.current.deployments[deployment];
    if (!model) throw deploymentNotFound();
    return { deployment, model, apiVersion: url.searchParams.get('api-version') ?? 'v1', body };
  }

  private authenticate(req: IncomingMessage, v1: boolean): void {
    const failure = checkAuth(req.headers, this.current, v1);
    if (!failure) return;
    this.currentStats.unauthorized++;
    throw failure;
  }

  private parse(text: string): Record<string, unknown> {
    try {
      return parseJsonBody(text);
    } catch (error) {
      this.currentStats.invalid++;
      throw error;
    }
  }

  private record(req: IncomingMessage, url: URL, text: string): void {
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // keep the raw text: the caller sent something that is not JSON
    }
    this.lastRequest = { method: req.method ?? '', path: url.pathname + url.search, headers: { ...req.headers }, body };
  }

  /** The per-deployment quota: a sliding 60 s window, counted from each admitted request. */
  private admit(res: ServerResponse, target: Target): void {
    const limit = this.current.requestsPerMinute;
    if (limit === undefined) return;
    const now = Date.now();
    const window = (this.quotaWindows.get(target.deployment) ?? []).filter((at) => at > now - QUOTA_WINDOW_MS);
    this.quotaWindows.set(target.deployment, window);
    if (window.length >= limit) {
      res.setHeader('x-ratelimit-remaining-requests', '0');
      this.currentStats.rateLimited++;
      throw rateLimited(target.apiVersion, window[0] + QUOTA_WINDOW_MS - now);
    }
    window.push(now);
    res.setHeader('x-ratelimit-remaining-requests', String(limit - window.length));
  }

  private validate(target: Target): GenerationRequest {
    try {
      return validateGeneration(target.body, target.model);
    } catch (error) {
      this.currentStats.invalid++;
      throw error;
    }
  }

  private async generate(req: IncomingMessage, res: ServerResponse, target: Target, generation: GenerationRequest): Promise<void> {
    const settings = this.current;
    if (settings.latencyMs > 0) await sleep(settings.latencyMs, undefined, { signal: this.closing.signal });
    if (res.destroyed) return;
    const blocked = settings.blockedWords.find((word) => word !== '' && generation.prompt.toLowerCase().includes(word.toLowerCase()));
    if (blocked !== undefined) {
      this.currentStats.filtered++;
      throw contentPolicyViolation(revisePrompt(generation), blockedFilterResults());
    }
    if (settings.failureRate > 0 && Math.random() < settings.failureRate) {
      this.currentStats.failed++;
      const statuses = settings.failureStatuses;
      throw injectedFailure(statuses[Math.floor(Math.random() * statuses.length)], target.apiVersion);
    }
    const body = this.buildAnswer(req, target, generation);
    this.currentStats.generations++;
    this.currentStats.images += generation.n;
    const perDeployment = this.currentStats.generationsByDeployment;
    perDeployment[target.deployment] = (perDeployment[target.deployment] ?? 0) + 1;
    sendJson(res, 200, body);
  }

  /** The 200 body, shaped like the official example (example-image_generation.json). */
  private buildAnswer(req: IncomingMessage, target: Target, generation: GenerationRequest): Record<string, unknown> {
    const gptImage = MODELS[target.model].reportsUsage;
    const data = Array.from({ length: generation.n }, (_, index) => this.buildImage(req, target, generation, index));
    if (!gptImage) return { created: nowSeconds(), data };
    return {
      created: nowSeconds(),
      background: generation.background === 'auto' ? 'opaque' : generation.background,
      data,
      output_format: generation.outputFormat,
      quality: generation.quality === 'auto' ? 'medium' : generation.quality,
      size: `${generation.width}x${generation.height}`,
      usage: usageFor(generation),
    };
  }

  private buildImage(req: IncomingMessage, target: Target, generation: GenerationRequest, index: number): Record<string, unknown> {
    const format = generation.outputFormat;
    const bytes = renderImage({
      // Images past the first of a request differ from it, yet stay deterministic.
      prompt: index === 0 ? generation.prompt : `${generation.prompt}\u0000${index}`,
      width: generation.width,
      height: generation.height,
      format,
      realistic: this.current.realisticSize,
      jpegQuality: generation.outputCompression,
    });
    const image: Record<string, unknown> = {};
    if (!MODELS[target.model].reportsUsage) image.revised_prompt = revisePrompt(generation);
    image.prompt_filter_results = promptFilterResults();
    if (generation.responseFormat === 'url') {
      image.url = this.baseUrl(req) + this.files.put(bytes, format, this.current.urlTtlSeconds);
    } else {
      image.b64_json = bytes.toString('base64');
    }
    image.content_filter_results = contentFilterResults();
    return image;
  }

  /** Links follow the Host the caller used, so they work behind port mappings too. */
  private baseUrl(req: IncomingMessage): string {
    const host = req.headers.host;
    return host && /^[A-Za-z0-9.\-:[\]]+$/.test(host) ? `http://${host}` : this.url;
  }

  private sendError(res: ServerResponse, error: unknown): void {
    if (error instanceof Error && error.name === 'AbortError') {
      res.destroy(); // the emulator is closing mid-latency
      return;
    }
    const answer = error instanceof EmulatorHttpError ? error : internalError();
    if (!(error instanceof EmulatorHttpError)) console.error('[openai-emulator] unexpected error', error);
    sendJson(res, answer.status, answer.body, answer.headers);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => (size > MAX_BODY_BYTES ? reject(bodyTooLarge(MAX_BODY_BYTES)) : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** dall-e-3 rewrites prompts; the emulator's rewrite is a fixed prefix so tests can predict it. */
export function revisePrompt(generation: Pick<GenerationRequest, 'prompt' | 'style'>): string {
  const style = generation.style === 'natural' ? 'natural' : 'vivid';
  return `A ${style}, detailed depiction of: ${generation.prompt}`;
}

const SAFE = { filtered: false, severity: 'safe' } as const;

function contentFilterResults(): Record<string, unknown> {
  return { sexual: { ...SAFE }, violence: { ...SAFE }, hate: { ...SAFE }, self_harm: { ...SAFE } };
}

function promptFilterResults(): Record<string, unknown> {
  return {
    ...contentFilterResults(),
    profanity: { detected: false, filtered: false },
    jailbreak: { detected: false, filtered: false },
  };
}

/** A blocked prompt is reported as high-severity violence, the other categories safe. */
function blockedFilterResults(): Record<string, unknown> {
  return { ...promptFilterResults(), violence: { filtered: true, severity: 'high' } };
}

// Output tokens per image as OpenAI documents them for gpt-image-1, by quality then size.
const OUTPUT_TOKENS: Record<string, Record<string, number>> = {
  low: { '1024x1024': 272, '1024x1536': 408, '1536x1024': 400 },
  medium: { '1024x1024': 1056, '1024x1536': 1584, '1536x1024': 1568 },
  high: { '1024x1024': 4160, '1024x1536': 6240, '1536x1024': 6208 },
};

function usageFor(generation: GenerationRequest): Record<string, unknown> {
  const quality = generation.quality === 'auto' ? 'medium' : generation.quality;
  const perImage = OUTPUT_TOKENS[quality]?.[`${generation.width}x${generation.height}`] ?? 1056;
  const textTokens = Math.max(1, Math.ceil(generation.prompt.length / 4));
  const outputTokens = perImage * generation.n;
  return {
    input_tokens: textTokens,
    input_tokens_details: { image_tokens: 0, text_tokens: textTokens },
    output_tokens: outputTokens,
    total_tokens: textTokens + outputTokens,
  };
}
