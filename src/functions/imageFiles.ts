import type { HttpRequest } from '@azure/functions';
import { NotFoundError } from '../lib/core/errors.js';
import { IMMUTABLE } from '../lib/images/store.js';
import { runtime } from '../lib/runtime.js';
import { blobParam, byHost, fileResponse, NO_STORE, route } from '../lib/http/answering.js';

// Images that last where makers put them:
//   GET /api/images/files/{blob}: the image itself, bytes and content type, for a "Create file" step.
//   GET /api/images/links/{blob}: a permanent link; it answers a redirect to a fresh read-only URL of
//   the image. Give it a function key of its own (a key for this one function) to share it safely.

async function file(request: HttpRequest) {
  const blob = blobParam(request);
  const image = await runtime().pipeline.readImage(blob);
  if (!image) throw new NotFoundError(`There is no image '${blob}'.`);
  return fileResponse(blob, image, { 'cache-control': IMMUTABLE });
}

async function link(request: HttpRequest) {
  const blob = blobParam(request);
  const url = await runtime().pipeline.imageUrl(blob);
  if (!url) throw new NotFoundError(`There is no image '${blob}'.`);
  // Not cached: every visit gets a URL that has just been signed.
  return { status: 302, headers: { location: url, ...NO_STORE } };
}

route('getImageFile', 'GET', 'images/files/{*blob}', byHost(file));
route('getImageLink', 'GET', 'images/links/{*blob}', byHost(link));
