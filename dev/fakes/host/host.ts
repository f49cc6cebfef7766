import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listen } from '../../processes.js';
import { basename, dirname, join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { format } from 'node:util';
import * as functions from '@azure/functions';
import {
  type HttpFunctionOptions,
  type InvocationContextInit,
  type StorageQueueFunctionOptions,
} from '@azure/functions';
import { compileRoute, requestPath, type RouteMatcher } from './routes.js';

// A small stand-in for the Azure Functions host (Core Tools cannot be installed on these machines):
// it loads what package.json's main names, as `func start` does, catches what they register with
// `app.http` and `app.storageQueue`, and serves them with the host's routing and limits.
// On a machine with Core Tools, `func start` serves the very same modules.
//
// Modelled on the real host (4.x, measured with the project's suite; docs/local-host.md):
// - Paths are decoded as Kestrel decodes them, except %2F: a catch-all `{*blob}` gets `2026%2F12%2F…`
//   for a name encoded once, and `%25` is decoded, so `%252F` arrives as `%2F` (routes.ts).
// - A queue trigger's triggerMetadata holds the message's own id, dequeueCount, popReceipt, times and
//   queueTrigger, with a JSON message's top-level properties laid over them ignoring case (queues.ts).
// - An entry point that throws at load: "Worker was unable to load entry point", 0 functions, 404 on
//   every route; the host keeps running.
// Known differences left:
// - Keys: one function key (LOCAL_FUNCTION_KEY, in x-functions-key or ?code=) stands for every key;
//   no host, master or per-function keys, no key management API. Unset, no key is checked (Core Tools).
// - request.params: the real host's HTTP binding data also holds the query parameters (all but `code`)
//   under the route values, and the Node library hands them over as params (read from the host's
//   source, not measured); here params are the route values alone.
// - HTTP streaming: the real host proxies each request to the worker's own HTTP server; here the
//   handler runs in the host's process, so request.url is the request's URL as sent.
// - Routing: constraints (`{id:guid}`) are not checked and the first registration that matches wins;
//   ASP.NET orders routes by precedence. A wrong method answers 405 here.
// - host.json: only routePrefix, functionTimeout and the queue settings (batchSize, newBatchThreshold,
//   maxDequeueCount, visibilityTimeout, maxPollingInterval, messageEncoding) are read. Not modelled:
//   http.maxConcurrentRequests, maxOutstandingRequests, dynamicThrottlesEnabled, customHeaders, retry
//   policies, logging and Application Insights, extension bundles, singleton locks.
// - Time limits: a function is not stopped at functionTimeout (a queue message only stays invisible
//   that long), and the front end's 230 s HTTP limit is not applied.
// - One process: the app runs inside the host, so a crash of the app stops the host; the real host
//   restarts its worker. There is one instance, never a scale-out, and no admin API (/admin/…).
// - Limits: Node's own header size limit (16 KB), not Kestrel's (32 KB); the 100 MB body limit is
//   the host's. Dates in triggerMetadata are ISO strings, not .NET's format.
// - Built-in authentication: x-ms-client-principal is neither added nor stripped.

/** The Functions host's own request size limit (100 MB); the app's 1 MB limit sits inside it. */
const HOST_MAX_REQUEST_BYTES = 100 * 1024 * 1024;

export interface HttpRegistration {
  name: string;
  options: HttpFunctionOptions;
  methods: string[];
  route: RouteMatcher;
}

export interface Registrations {
  http: HttpRegistration[];
  queues: { name: string; options: StorageQueueFunctionOptions }[];
}

export type Log = (line: string) => void;

/**
 * The files package.json's `main` names, as the Functions worker finds them: one file (the bundle,
 * dist/app/index.js) or a glob of files in one folder (dir/*.js).
 */
export function mainFiles(root: string): string[] {
  const { main } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { main?: string };
  if (!main) throw new Error('package.json names no main: the functions to load');
  if (!main.includes('*')) return [join(root, main)];
  const dir = dirname(main);
  const pattern = new RegExp(
    `^${basename(main)
      .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '[^/]*')}$`,
  );
  if (dir.includes('*')) throw new Error(`package.json main ${main}: only the file name may have a wildcard`);
  return readdirSync(join(root, dir))
    .filter((f) => pattern.test(f))
    .sort()
    .map((f) => join(root, dir, f));
}

/**
 * Loads the app's entry point (package.json's main), catching what it registers, as the host does.
 * A file that throws while loading leaves no function at all, as with the real host: it logs "Worker
 * was unable to load entry point", finds 0 functions and keeps running, answering 404 everywhere.
 */
export function loadFunctions(root: string, log: Log): Registrations {
  const registrations: Registrations = { http: [], queues: [] };
  // The real host's switch: an app setting AzureWebJobs.<name>.Disabled=true leaves that function out.
  const disabled = (name: string) => /^(true|1)$/i.test(process.env[`AzureWebJobs.${name}.Disabled`] ?? '');
  functions.app.http = (name: string, options: HttpFunctionOptions) => {
    if (disabled(name)) {
      log(`Function '${name}' is disabled.`);
      return;
    }
    const methods = (options.methods ?? ['GET', 'POST']).map((m) => m.toUpperCase());
    registrations.http.push({ name, options, methods, route: compileRoute(options.route ?? name) });
  };
  functions.app.storageQueue = <T>(name: string, options: StorageQueueFunctionOptions<T>) => {
    if (disabled(name)) {
      log(`Function '${name}' is disabled.`);
      return;
    }
    registrations.queues.push({ name, options: options as StorageQueueFunctionOptions });
  };
  for (const file of mainFiles(root)) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the host loads the app as the Functions worker does: with require
      require(file);
    } catch (err) {
      log(
        `Worker was unable to load entry point "${relative(root, file)}": ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`,
      );
      return { http: [], queues: [] };
    }
  }
  return registrations;
}

export function invocationContext(functionName: string, log: Log, init: Partial<InvocationContextInit> = {}) {
  return new functions.InvocationContext({
    functionName,
    invocationId: randomUUID(),
    logHandler: (level, ...args) => log(`[${functionName}] ${level}: ${format(...args)}`),
    ...init,
  });
}

/** The parts of host.json the local host reads. */
export interface HostJson {
  functionTimeout?: string;
  extensions?: { http?: { routePrefix?: string }; queues?: Record<string, string | number> };
}

export const readHostJson = (path: string): HostJson => JSON.parse(readFileSync(path, 'utf8')) as HostJson;

export const routePrefix = (hostJson: HostJson): string => hostJson.extensions?.http?.routePrefix ?? 'api';

export interface HttpHostOptions {
  port?: number;
  prefix: string;
  registrations: Registrations;
  log: Log;
  /**
   * When set, routes whose authLevel is not anonymous need it (x-functions-key or ?code=), as in
   * Azure; unset, keys are not checked, as with Core Tools.
   */
  functionKey?: string;
}

export async function serveHttp(options: HttpHostOptions): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const started = Date.now();
    let left = false;
    res.once('close', () => (left = !res.writableFinished));
    handle(req, res, options)
      .catch((err: unknown) => {
        options.log(`Host error: ${(err as Error).message}`);
        if (!res.headersSent) res.writeHead(500);
        res.end();
      })
      // A caller gone mid-answer is no failure of the function: logged as such, never as a 500.
      .finally(() =>
        options.log(
          `${req.method} ${req.url?.split('?')[0]} ${res.statusCode} ${Date.now() - started} ms${left ? ' (the caller left)' : ''}`,
        ),
      );
  });
  server.keepAliveTimeout = 65_000;
  return { url: `http://127.0.0.1:${await listen(server, options.port)}`, server };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  { prefix, registrations, log, functionKey }: HttpHostOptions,
): Promise<void> {
  const url = requestUrl(req);
  if (!url) {
    res.writeHead(400).end();
    return;
  }
  if (url.pathname === DIAGNOSTICS_ROUTE && process.env.LOCAL_HOST_DIAGNOSTICS === 'true') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(memory()));
    return;
  }
  const pathname = requestPath(url.pathname);
  if (pathname === undefined) {
    res.writeHead(400).end();
    return;
  }
  const base = `/${prefix}`;
  const path = prefix
    ? pathname.toLowerCase().startsWith(`${base}/`.toLowerCase())
      ? pathname.slice(base.length)
      : undefined
    : pathname;
  const matches =
    path === undefined
      ? []
      : registrations.http.flatMap((r) => {
          const params = r.route.match(path);
          return params ? [{ registration: r, params }] : [];
        });
  const found = matches.find((m) => m.registration.methods.includes(req.method ?? 'GET'));
  if (!found) {
    res.writeHead(matches.length > 0 ? 405 : 404).end();
    return;
  }
  if (functionKey && found.registration.options.authLevel !== 'anonymous') {
    const given = req.headers['x-functions-key'] ?? url.searchParams.get('code');
    if (given !== functionKey) {
      res.writeHead(401).end();
      return;
    }
  }
  const body = await readRequest(req);
  if (!body) {
    res.writeHead(413).end();
    return;
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers))
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  const request = new functions.HttpRequest({
    method: req.method!,
    url: url.toString(),
    headers,
    params: found.params,
    ...(body.length > 0 ? { body: { bytes: body } } : {}),
  });
  const { name, options } = found.registration;
  const answer = await options.handler(request, invocationContext(name, log));
  const init =
    answer instanceof functions.HttpResponse
      ? {
          status: answer.status,
          headers: Object.fromEntries(answer.headers),
          body: Buffer.from(await answer.arrayBuffer()),
        }
      : answer;
  const outHeaders = new Headers(init.headers);
  let payload: Buffer | string | undefined;
  if (init.jsonBody !== undefined) {
    payload = JSON.stringify(init.jsonBody);
    if (!outHeaders.has('content-type')) outHeaders.set('content-type', 'application/json');
  } else if (typeof init.body === 'string' || init.body instanceof Uint8Array) {
    payload = typeof init.body === 'string' ? init.body : Buffer.from(init.body);
  }
  const stream = init.body;
  if (stream instanceof Readable || stream instanceof ReadableStream) {
    // HTTP streaming: each chunk goes out as the function writes it.
    res.writeHead(init.status ?? 200, Object.fromEntries(outHeaders));
    res.flushHeaders();
    await pipeline(
      stream instanceof Readable ? stream : Readable.fromWeb(stream as import('node:stream/web').ReadableStream),
      res,
    ).catch(() => undefined);
    return;
  }
  res.writeHead(init.status ?? 200, Object.fromEntries(outHeaders));
  res.end(payload);
}

/** The host's own memory, for the benches (LOCAL_HOST_DIAGNOSTICS=true): never in Azure, never an app route. */
const DIAGNOSTICS_ROUTE = '/admin/host/memory';

function memory(): { rssMb: number; heapUsedMb: number } {
  // With --expose-gc the live heap is measured after a collection, not with garbage not yet collected.
  (globalThis as { gc?: () => void }).gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  return { rssMb: rss / 2 ** 20, heapUsedMb: heapUsed / 2 ** 20 };
}

/** The request's URL; undefined when its Host header is not a host, which Azure's front end refuses too. */
function requestUrl(req: IncomingMessage): URL | undefined {
  try {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
    return url.host === (req.headers.host ?? 'localhost').toLowerCase() ? url : undefined;
  } catch {
    return undefined;
  }
}

async function readRequest(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > HOST_MAX_REQUEST_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
