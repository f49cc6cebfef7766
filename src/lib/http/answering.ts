import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  app,
  type HttpMethod,
  type HttpRequest,
  type HttpResponseInit,
  type InvocationContext,
} from '@azure/functions';
import type { Authenticator, Credentials } from '../callers/auth.js';
import type { Caller } from '../core/caller.js';
import { errorAnswer } from '../core/errorAnswer.js';
import { NotFoundError } from '../core/errors.js';
import type { Answer, StreamFrame } from '../images/pipeline.js';
import { checkBodySize } from '../core/request.js';

// Translation between the Functions HTTP types and the pipeline's: bodies in, answers and errors out.

/** The body's bytes; a declared length past the limit is refused before reading. */
export async function readBody(request: HttpRequest): Promise<Uint8Array> {
  checkBodySize(Number(request.headers.get('content-length')) || 0);
  return new Uint8Array(await request.arrayBuffer());
}

/** What authentication reads of a request: headers and the query. */
export function credentials(request: HttpRequest): Credentials {
  return {
    header: (name) => request.headers.get(name) ?? undefined,
    query: (name) => request.query.get(name) ?? undefined,
  };
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, body: jsonBytes(body), headers: { 'content-type': 'application/json; charset=utf-8', ...headers } };
}

/**
 * JSON as bytes, with each `b64_json` written straight in rather than through JSON.stringify: an image
 * is megabytes of base64 that need no escaping, and stringifying them costs a few ms per image. Each is
 * decoded and encoded again, so what goes out is always plain base64 of the bytes that were kept.
 */
export function jsonBytes(body: unknown): Buffer {
  const inline: string[] = [];
  const marker = `b64:${randomBytes(8).toString('hex')}:`;
  const text = JSON.stringify(body, (key, value: unknown) =>
    key === 'b64_json' && typeof value === 'string' ? `${marker}${inline.push(value) - 1}` : value,
  );
  if (inline.length === 0) return Buffer.from(text);
  const [head, ...rest] = text.split(marker);
  const parts = [Buffer.from(head)];
  for (const part of rest) {
    const end = part.indexOf('"');
    const base64 = Buffer.from(inline[Number(part.slice(0, end))], 'base64').toString('base64');
    parts.push(Buffer.from(base64, 'latin1'), Buffer.from(part.slice(end)));
  }
  return Buffer.concat(parts);
}

/**
 * Which model and deployment made the images: a DALL·E 3 request learns it was served by a successor.
 * With several backends, which one and in which region.
 */
export function servedHeaders(served: Answer['served']): Record<string, string> {
  return {
    'x-served-model': served.model,
    'x-served-deployment': served.deployment,
    ...(served.backend && { 'x-served-backend': served.backend.name, 'x-served-region': served.backend.region }),
  };
}

export const REPLAYED = { 'Idempotent-Replayed': 'true' } as const;

/** For answers nobody between here and the caller should keep. */
export const NO_STORE = { 'cache-control': 'no-store' } as const;

/** `Retry-After`, where the answer names a wait. */
export const retryAfter = (seconds: number | undefined): Record<string, string> =>
  seconds === undefined ? {} : { 'Retry-After': String(seconds) };

/**
 * A `{*blob}` route value, decoded once. The Functions host (ASP.NET Core) decodes a path except for
 * %2F, so a name sent encoded once (2026%2F12%2F…, as Power Platform sends a path parameter) arrives
 * with its slashes still encoded, and a name sent raw arrives as it was. Decoded once only: a value
 * still encoded after that is no image's name, and the routes refuse it as one.
 */
export function blobParam(request: HttpRequest): string {
  const value = request.params.blob ?? '';
  try {
    return decodeURIComponent(value);
  } catch {
    throw new NotFoundError(`There is no image '${value}'.`);
  }
}

/** A kept image's bytes, as a download named after its blob. */
export function fileResponse(
  blob: string,
  image: { bytes: Buffer; contentType: string },
  cacheControl: Record<string, string>,
): HttpResponseInit {
  return {
    status: 200,
    body: image.bytes,
    headers: {
      'content-type': image.contentType,
      'content-disposition': `attachment; filename="${blob.split('/').pop()}"`,
      ...cacheControl,
    },
  };
}

export type HttpHandler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

/** The one place a trigger's failures become HTTP: every error, typed or not, as an Azure error answer. */
export function answering(handler: HttpHandler): HttpHandler {
  return async (request, context) => {
    try {
      return await handler(request, context);
    } catch (err) {
      return errorResponse(err, context);
    }
  };
}

// Who checks the caller, said where each route is registered. Every route answers its failures
// through `answering`, whoever checks.

/** A route's handler, and the level the host checks it at. */
interface Guarded {
  authLevel: 'function' | 'anonymous';
  handler: HttpHandler;
}

/** The host: it lets only the function key through (operators, makers' connectors). */
export const byHost = (handler: HttpHandler): Guarded => ({ authLevel: 'function', handler: answering(handler) });

/**
 * The app: anonymous to the host, so that a caller key or a platform's sign-in reach it; the app
 * authenticates whoever calls (a caller key, a signed-in principal, the function key), and the
 * handler learns who.
 */
export const byApp = (
  auth: () => Authenticator,
  handler: (request: HttpRequest, caller: Caller, context: InvocationContext) => Promise<HttpResponseInit>,
): Guarded => ({
  authLevel: 'anonymous',
  handler: answering(async (request, context) =>
    handler(request, await auth().authenticate(credentials(request)), context),
  ),
});

/** Nobody before the handler: it needs no credential, or checks its own (a poll token, a generation inside its deadline). */
export const byHandler = (handler: HttpHandler): Guarded => ({ authLevel: 'anonymous', handler: answering(handler) });

/** Registers an HTTP route with the Functions runtime; `guarded` says who checks the caller. */
export function route(name: string, methods: HttpMethod | HttpMethod[], path: string, guarded: Guarded): void {
  app.http(name, { methods: Array.isArray(methods) ? methods : [methods], route: path, ...guarded });
}

/** Any failure as an Azure error answer; what was our fault is logged, the caller's is not noise. */
export function errorResponse(err: unknown, context: InvocationContext): HttpResponseInit {
  const { status, body, retryAfterSeconds } = errorAnswer(err);
  logError(err, status, body.error.code, context);
  return json(status, body, retryAfter(retryAfterSeconds));
}

function logError(err: unknown, status: number, code: string, context: InvocationContext): void {
  if (status < 500) {
    context.log(`Refused with ${status} ${code}: ${(err as Error).message}`);
  } else {
    const cause =
      err instanceof Error && err.cause instanceof Error
        ? `: ${err.cause.message}`
        : err instanceof Error && status === 500
          ? `: ${err.stack}`
          : '';
    context.error(`Failed with ${status} ${code}${cause}`);
  }
}

/**
 * Server-sent events, written as each frame comes (Functions HTTP streaming). A failure once the
 * stream has started can no longer change the status: it is sent as an `error` event, which the
 * openai SDK raises as an APIError. A caller who leaves early does not stop the generation: it is
 * paid for, so it runs to the end and its images are kept. `done` runs once, when it has ended.
 */
export function eventStream(
  frames: AsyncIterable<StreamFrame>,
  headers: Record<string, string>,
  context: InvocationContext,
  done: () => void,
): HttpResponseInit {
  const source = frames[Symbol.asyncIterator]();
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    done();
  };
  const fail = (err: unknown) => {
    const { status, body } = errorAnswer(err);
    logError(err, status, body.error.code, context);
    return body;
  };
  // The frame being read when the caller leaves: the drain reads it first. Only the source's own
  // failures are failures; the caller closing the response is not one, and never reaches `fail`.
  let reading: Promise<IteratorResult<StreamFrame>> | undefined;
  async function drain(pending: typeof reading): Promise<void> {
    try {
      if (pending && (await pending).done) return;
      while (!(await source.next()).done);
    } catch (err) {
      fail(err);
    } finally {
      end();
    }
  }
  const body: Readable = new Readable({
    read() {
      const pending = (reading = source.next());
      pending.then(
        (next) => {
          reading = undefined;
          if (body.destroyed) return;
          if (next.done) {
            end();
            body.push(null);
          } else {
            body.push(
              Buffer.concat([
                Buffer.from(`event: ${next.value.event}\ndata: `),
                jsonBytes(next.value.data),
                Buffer.from('\n\n'),
              ]),
            );
          }
        },
        (err: unknown) => {
          reading = undefined;
          if (body.destroyed) return;
          end();
          body.push(`event: error\ndata: ${JSON.stringify(fail(err))}\n\n`);
          body.push(null);
        },
      );
    },
    destroy(err, callback) {
      if (!ended) {
        context.log('The caller left the stream: the generation runs to the end and its images are kept.');
        void drain(reading);
      }
      callback(err);
    },
  });
  return {
    status: 200,
    body,
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...headers },
  };
}
