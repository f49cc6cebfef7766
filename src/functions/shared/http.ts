import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { ApiError, toApiError } from '../../lib/errors.js';
import { MAX_BODY_BYTES } from '../../lib/request.js';

// Translation between the Functions HTTP types and the pipeline's: bodies in, answers and errors out.

/** The body's bytes; a declared length past the limit is refused before reading. */
export async function readBody(request: HttpRequest): Promise<Uint8Array> {
  const declared = Number(request.headers.get('content-length'));
  if (declared > MAX_BODY_BYTES) {
    throw new ApiError(413, 'request_too_large', `The request body is larger than ${MAX_BODY_BYTES} bytes.`);
  }
  return new Uint8Array(await request.arrayBuffer());
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, jsonBody: body, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } };
}

/** Any failure as an Azure error answer; what was our fault is logged, the caller's is not noise. */
export function errorResponse(err: unknown, context: InvocationContext): HttpResponseInit {
  const error = toApiError(err);
  if (error.isClientError) {
    context.log(`Refused with ${error.status} ${error.code}: ${error.message}`);
  } else {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    context.error(`Failed with ${error.status} ${error.code}${cause}`);
  }
  return json(error.status, error.toJSON(), error.headers);
}
