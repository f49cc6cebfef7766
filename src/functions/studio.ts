import { join } from 'node:path';
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { byHandler, route } from '../lib/http/answering.js';
import { STUDIO_DIR, StudioAssets, type StudioFile } from '../lib/http/studioAssets.js';

// The studio page: GET /api/studio is its shell, GET /api/studio/assets/{file} its script and style
// sheet. Anonymous: they hold no data (the page asks the gallery routes for it, with credentials).

/** Beside the bundle, where npm run build puts the studio (dist/app/studio). */
const studio = StudioAssets.load(join(__dirname, STUDIO_DIR));

/** The shell may only load its own files and talk to its own origin; nobody may frame it. */
const SHELL_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

function send(
  request: HttpRequest,
  found: StudioFile,
  cacheControl: string,
  headers: Record<string, string> = {},
): HttpResponseInit {
  const gzip = /\bgzip\b/.test(request.headers.get('accept-encoding') ?? '');
  return {
    status: 200,
    body: gzip ? found.gzipped : found.bytes,
    headers: {
      'content-type': found.contentType,
      'cache-control': cacheControl,
      vary: 'accept-encoding',
      ...(gzip && { 'content-encoding': 'gzip' }),
      ...headers,
    },
  };
}

const notBuilt = (): HttpResponseInit => ({
  status: 404,
  jsonBody: {
    error: { code: 'NotFound', message: 'The studio was not built with this app: npm run build builds it.' },
  },
});

// Always revalidated: a new deployment's shell names new asset files at once.
route(
  'studio',
  'GET',
  'studio',
  byHandler(async (request) => (studio ? send(request, studio.shell, 'no-cache', SHELL_HEADERS) : notBuilt())),
);

route(
  'studioAsset',
  'GET',
  'studio/assets/{file}',
  byHandler(async (request) => {
    const found = studio?.asset(request.params.file);
    if (!found)
      return {
        status: 404,
        jsonBody: { error: { code: 'NotFound', message: `There is no studio asset '${request.params.file}'.` } },
      };
    // The name changes with the content: cached for a year, never revalidated.
    return send(request, found, 'public, max-age=31536000, immutable', { 'x-content-type-options': 'nosniff' });
  }),
);
