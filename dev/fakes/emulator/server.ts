// An offline stand-in for Azure OpenAI's image generation API: the dated and v1 routes, their auth,
// the per-deployment quota, and the generation itself (JSON or server-sent events), with the faults
// tests need. Model rules live in models.ts, settings in config.ts, bodies in answers.ts.

import { setMaxListeners } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listen } from '../../processes.js';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { blockedFilterResults, completedEvent, generationAnswer, partialImageEvent } from './answers.js';
import { checkAuth, type Surface } from './auth.js';
import {
  DEFAULT_SETTINGS,
  applySettings,
  type EmulatorConfig,
  type EmulatorOptions,
  type EmulatorSettings,
} from './config.js';
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
  v1ApiVersion,
} from './errors.js';
import { renderImage } from './images.js';
import { GPT_IMAGE_MIN_API_VERSION, type ModelName } from './models.js';
import { Quota } from './quota.js';
import { parseJsonBody, validateGeneration, type Generation } from './validation.js';

export interface EmulatorStats {
  /** Every HTTP request the emulator received. */
  requests: number;
  /** Billed generations: counted once the service decides to make them, even if the caller leaves before the answer. */
  generations: number;
  generationsByDeployment: Record<string, number>;
  /** Images in billed generations (n summed). */
  images: number;
  /** Billed generations answered as server-sent events. */
  streams: number;
  rateLimited: number;
  /** Injected failures (failureRate). */
  failed: number;
  unauthorized: number;
  /** Prompts refused by the content filter. */
  filtered: number;
  /** Requests refused as malformed or against the model's rules (400 and 413). */
  invalid: number;
}

export interface RecordedRequest {
  method: string;
  /** Path and query, as sent. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON, or the raw text when it is not JSON. */
  body: unknown;
}

export interface OpenAIEmulator {
  /** The Azure OpenAI endpoint, e.g. http://127.0.0.1:8090. */
  readonly url: string;
  readonly port: number;
  /** Live counters; resetStats() zeroes them. */
  readonly stats: EmulatorStats;
  readonly settings: Readonly<EmulatorSettings>;
  /** The last request received, for asserting what a client sent. */
  readonly lastRequest: RecordedRequest | undefined;
  /** False between stop() and start(). */
  readonly listening: boolean;
  /** Changes settings mid-run; a bad one throws a RangeError and changes nothing. */
  configure(changes: EmulatorConfig): void;
  resetStats(): void;
  /** Drops every connection and refuses new ones (ECONNREFUSED), as an unreachable account does. */
  stop(): Promise<void>;
  /** Listens again on the same port after stop(). */
  start(): Promise<void>;
  /** Stops for good. */
  close(): Promise<void>;
}

export async function startOpenAIEmulator(options: EmulatorOptions = {}): Promise<OpenAIEmulator> {
  const { host = '127.0.0.1', port = 0, ...changes } = options;
  const emulator = new Emulator(applySettings(DEFAULT_SETTINGS, changes), host, port);
  await emulator.start();
  return emulator;
}

const API_VERSION = /^(\d{4}-\d{2}-\d{2})(-preview)?$/;
const DATED_ROUTE = /^\/openai\/deployments\/([^/]+)\/images\/generations\/?$/;
const V1_ROUTE = /^\/openai\/v1\/images\/generations\/?$/;
const V1_API_VERSIONS = ['preview', 'latest'];
const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Partial images step colours in blocks this many times larger than the final image's, halving each time. */
const FINAL_BLOCK = 8;

function emptyStats(): EmulatorStats {
  return {
    requests: 0,
    generations: 0,
    generationsByDeployment: {},
    images: 0,
    streams: 0,
    rateLimited: 0,
    failed: 0,
    unauthorized: 0,
    filtered: 0,
    invalid: 0,
  };
}

/** What a route resolved to before the body's rules apply. */
interface Target {
  deployment: string;
  model: ModelName;
  /** As sent, or 'v1'; quoted in 429 messages. */
  apiVersion: string;
  body: Record<string, unknown>;
}

class Emulator implements OpenAIEmulator {
  url = '';
  lastRequest: RecordedRequest | undefined;
  readonly stats = emptyStats();
  private readonly server: Server;
  private readonly quota = new Quota();
  /** Aborted by stop(): ends the waits of requests in flight (one listener each, so no listener limit). */
  private running = unlimited(new AbortController());
  private closed = false;

  constructor(
    private current: EmulatorSettings,
    private readonly host: string,
    public port: number,
  ) {
    // Idle connections kept for a minute, as the service's front door keeps them: with Node's 5 s, a
    // client (undici lets go after 4 s, on a timer with a 1 s tick) sometimes sends on a socket the
    // emulator is closing that instant, and reads ECONNRESET.
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
  }

  get settings(): Readonly<EmulatorSettings> {
    return this.current;
  }

  get listening(): boolean {
    return this.server.listening;
  }

  configure(changes: EmulatorConfig): void {
    this.current = applySettings(this.current, changes);
    if ('requestsPerMinute' in changes) this.quota.clear();
  }

  resetStats(): void {
    Object.assign(this.stats, emptyStats());
  }

  start(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('The emulator is closed'));
    if (this.server.listening) return Promise.resolve();
    this.running = unlimited(new AbortController());
    // After the first start, the same port: clients configured with the URL reach it again.
    return listen(this.server, this.port, this.host).then((port) => {
      this.port = port;
      this.url = `http://${urlHost(this.host)}:${this.port}`;
    });
  }

  stop(): Promise<void> {
    this.running.abort();
    if (!this.server.listening) return Promise.resolve();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.stats.requests++;
    const requestId = randomUUID();
    res.setHeader('apim-request-id', requestId);
    res.setHeader('x-request-id', requestId);
    // Ends this request's waits when the emulator stops or the caller hangs up.
    const waits = new AbortController();
    const stopping = this.running.signal;
    const abort = () => waits.abort();
    stopping.addEventListener('abort', abort, { once: true });
    res.once('close', () => {
      stopping.removeEventListener('abort', abort);
      abort();
    });
    const signal = waits.signal;
    const url = new URL(req.url ?? '/', 'http://emulator');
    try {
      const text = await readBody(req);
      this.record(req, url, text);
      const dated = DATED_ROUTE.exec(url.pathname);
      if (req.method !== 'POST' || (!dated && !V1_ROUTE.test(url.pathname))) throw resourceNotFound();
      const target = dated
        ? this.resolveDated(req, decodeURIComponent(dated[1]), url, text)
        : this.resolveV1(req, url, text);
      this.admit(res, target);
      const generation = validateGeneration(target.body, target.model);
      await this.generate(res, target, generation, signal);
    } catch (error) {
      this.sendError(res, error);
    }
  }

  private authenticate(req: IncomingMessage, surface: Surface): void {
    const failure = checkAuth(req.headers, this.current, surface);
    if (failure) throw failure;
  }

  /** `/openai/deployments/{deployment}/images/generations?api-version=...` */
  private resolveDated(req: IncomingMessage, deployment: string, url: URL, text: string): Target {
    this.authenticate(req, 'dated');
    const apiVersion = url.searchParams.get('api-version') ?? '';
    const version = API_VERSION.exec(apiVersion);
    if (!version) throw resourceNotFound();
    const model = this.current.deployments[deployment];
    if (!model) throw deploymentNotFound();
    // Every current model is a gpt-image model, which older api-versions do not know.
    if (version[1] < GPT_IMAGE_MIN_API_VERSION.slice(0, 10))
      throw unsupportedApiVersion(apiVersion, model, GPT_IMAGE_MIN_API_VERSION);
    return { deployment, model, apiVersion, body: parseJsonBody(text) };
  }

  /** `/openai/v1/images/generations`: the deployment comes from the body's `model`. */
  private resolveV1(req: IncomingMessage, url: URL, text: string): Target {
    this.authenticate(req, 'v1');
    const apiVersion = url.searchParams.get('api-version');
    if (apiVersion !== null && !V1_API_VERSIONS.includes(apiVersion)) throw v1ApiVersion(apiVersion);
    const body = parseJsonBody(text);
    const deployment = body.model;
    if (typeof deployment !== 'string' || deployment === '') {
      throw invalidRequest(
        "Missing required parameter: 'model'. On the v1 API it names the deployment.",
        'model',
        'missing_required_parameter',
      );
    }
    const model = this.current.deployments[deployment];
    if (!model) throw deploymentNotFound();
    return { deployment, model, apiVersion: apiVersion ?? 'v1', body };
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

  private admit(res: ServerResponse, target: Target): void {
    const { requestsPerMinute: limit, retryAfterSeconds, throttleHeaders } = this.current;
    if (limit === undefined) return;
    const admission = this.quota.admit(target.deployment, limit);
    res.setHeader('x-ratelimit-limit-requests', String(limit));
    if (!admission.admitted) {
      res.setHeader('x-ratelimit-remaining-requests', '0');
      throw rateLimited(
        target.apiVersion,
        retryAfterSeconds === undefined ? admission.waitMs : retryAfterSeconds * 1000,
        throttleHeaders,
      );
    }
    res.setHeader('x-ratelimit-remaining-requests', String(admission.remaining));
  }

  private async generate(
    res: ServerResponse,
    target: Target,
    generation: Generation,
    signal: AbortSignal,
  ): Promise<void> {
    const settings = this.current;
    const prompt = generation.prompt.toLowerCase();
    // The prompt filter runs before any image is made: it answers at once, unbilled.
    if (settings.blockedWords.some((word) => word !== '' && prompt.includes(word.toLowerCase()))) {
      throw contentPolicyViolation(generation.prompt, blockedFilterResults());
    }
    const started = Date.now();
    if (settings.failureRate > 0 && Math.random() < settings.failureRate) {
      await sleep(settings.latencyMs, undefined, { signal });
      const status = settings.failureStatuses[Math.floor(Math.random() * settings.failureStatuses.length)];
      throw injectedFailure(
        status,
        target.apiVersion,
        (settings.retryAfterSeconds ?? 1) * 1000,
        settings.throttleHeaders,
      );
    }
    // Billed from here on: a caller that times out or hangs up now has still paid, as with Azure.
    this.stats.generations++;
    this.stats.images += generation.n;
    this.stats.generationsByDeployment[target.deployment] =
      (this.stats.generationsByDeployment[target.deployment] ?? 0) + 1;
    if (generation.stream) {
      this.stats.streams++;
      await this.stream(res, generation, started, signal);
      return;
    }
    const images = Array.from({ length: generation.n }, (_, index) => this.render(generation, index, FINAL_BLOCK));
    await sleepUntil(started + settings.latencyMs, signal);
    sendJson(res, 200, generationAnswer(generation, images, nowSeconds(), !this.current.omitUsage));
  }

  /**
   * Server-sent events: per image, its partial images (coarser renderings, each finer than the
   * last) and then the finished one. latencyMs is spread evenly over the events, so the first
   * partial comes early, and each event is written as soon as it is due.
   */
  private async stream(
    res: ServerResponse,
    generation: Generation,
    started: number,
    signal: AbortSignal,
  ): Promise<void> {
    const { n, partialImages } = generation;
    const latencyMs = this.current.latencyMs;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.flushHeaders();
    const events = n * (partialImages + 1);
    let due = 0;
    for (let index = 0; index < n; index++) {
      for (let partial = 0; partial < partialImages; partial++) {
        await sleepUntil(started + (latencyMs * ++due) / events, signal);
        const image = this.render(generation, index, FINAL_BLOCK << (partialImages - partial));
        res.write(partialImageEvent(generation, image, partial, nowSeconds()));
      }
      await sleepUntil(started + (latencyMs * ++due) / events, signal);
      res.write(
        completedEvent(
          generation,
          this.render(generation, index, FINAL_BLOCK),
          index,
          nowSeconds(),
          !this.current.omitUsage,
        ),
      );
    }
    res.end();
  }

  private render(generation: Generation, index: number, blockSize: number): Buffer {
    const final = blockSize === FINAL_BLOCK;
    return renderImage({
      // Images past the first of a request differ from it, yet stay deterministic.
      prompt: index === 0 ? generation.prompt : `${generation.prompt}\u0000${index}`,
      width: generation.width,
      height: generation.height,
      format: generation.outputFormat,
      // Partial images skip the noise: they are quick previews, not the weight of the result.
      realistic: final && this.current.realisticSize,
      jpegQuality: generation.compression,
      transparent: generation.background === 'transparent',
      blockSize,
    });
  }

  private sendError(res: ServerResponse, error: unknown): void {
    if (error instanceof Error && error.name === 'AbortError') {
      res.destroy(); // stopped, or the caller left, mid-wait
      return;
    }
    if (res.destroyed) return; // the caller left while sending its body
    if (!(error instanceof EmulatorHttpError)) console.error('[openai-emulator] unexpected error', error);
    const answer = error instanceof EmulatorHttpError ? error : internalError();
    if (answer.counter) this.stats[answer.counter]++;
    sendJson(res, answer.status, answer.body, answer.headers);
  }
}

function sleepUntil(deadline: number, signal: AbortSignal): Promise<void> {
  return sleep(Math.max(0, deadline - Date.now()), undefined, { signal });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
  });
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
    req.on('end', () =>
      size > MAX_BODY_BYTES ? reject(bodyTooLarge(MAX_BODY_BYTES)) : resolve(Buffer.concat(chunks).toString('utf8')),
    );
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

function unlimited(controller: AbortController): AbortController {
  setMaxListeners(0, controller.signal);
  return controller;
}
