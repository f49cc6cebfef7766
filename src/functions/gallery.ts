import { parseGalleryQuery } from '../lib/gallery/imageIndex.js';
import { decodeJsonObject } from '../lib/core/request.js';
import { runtime } from '../lib/runtime.js';
import { THUMBNAIL_CONTENT_TYPE } from '../lib/images/format.js';
import { blobParam, byApp, fileResponse, json, NO_STORE, readBody, route } from '../lib/http/answering.js';

// The studio's data, for whoever the app authenticates (a caller key, a signed-in principal, the
// function key): anonymous to the host, so that a caller key or App Service's sign-in reach them.
//   GET  /api/gallery/images?caller=&model=&from=&to=&q=&continuation=   a page of 50, newest first
//   GET  /api/gallery/records/{blob}      the image's record
//   GET  /api/gallery/thumbnails/{blob}   its WebP thumbnail
//   GET  /api/gallery/files/{blob}        the image itself
//   POST /api/gallery/zip                 {"blobs": [...]}: the images and their records as one ZIP

/** Answers that differ by credential may be kept by the browser, never shared. */
const PRIVATE = { 'cache-control': 'private, max-age=86400', vary: 'api-key, authorization, x-functions-key, cookie' };
/** `code` is the function key's own query parameter, not a filter. */
const NOT_FILTERS = new Set(['code']);

const auth = () => runtime().auth;

route(
  'listGalleryImages',
  'GET',
  'gallery/images',
  byApp(auth, async (request, caller) => {
    const query = parseGalleryQuery(
      (name) => request.query.get(name) ?? undefined,
      [...request.query.keys()].filter((name) => !NOT_FILTERS.has(name)),
    );
    return json(200, await runtime().gallery.list(query, caller), NO_STORE);
  }),
);

route(
  'getGalleryRecord',
  'GET',
  'gallery/records/{*blob}',
  byApp(auth, async (request, caller) =>
    json(200, await runtime().gallery.detail(blobParam(request), caller), NO_STORE),
  ),
);

route(
  'getGalleryThumbnail',
  'GET',
  'gallery/thumbnails/{*blob}',
  byApp(auth, async (request, caller) => ({
    status: 200,
    body: await runtime().gallery.thumbnail(blobParam(request), caller),
    headers: { 'content-type': THUMBNAIL_CONTENT_TYPE, ...PRIVATE },
  })),
);

route(
  'getGalleryFile',
  'GET',
  'gallery/files/{*blob}',
  byApp(auth, async (request, caller) => {
    const blob = blobParam(request);
    return fileResponse(blob, await runtime().gallery.file(blob, caller), PRIVATE);
  }),
);

route(
  'zipGalleryImages',
  'POST',
  'gallery/zip',
  byApp(auth, async (request, caller, context) => {
    const zip = await runtime().gallery.zip(decodeJsonObject(await readBody(request)), caller);
    // Past the headers a failure can only cut the download short: logged, never a 500.
    zip.once('error', (err) => context.error(`The ZIP was cut short: ${err.message}`));
    const name = `images-${new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}.zip`;
    return {
      status: 200,
      body: zip,
      headers: {
        'content-type': 'application/zip',
        'content-disposition': `attachment; filename="${name}"`,
        ...NO_STORE,
      },
    };
  }),
);
