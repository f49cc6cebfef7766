import { z } from 'zod';
import { zipRequest } from '../../gallery/archive.js';
import { galleryItem, galleryPage, galleryQuery } from '../../gallery/imageIndex.js';
import { binary, blobParameter, callerSecurity, errors, json, retryAfter, schema, tags } from './shared.js';

// The Studio tag's data: the gallery's routes, for whoever the app authenticates.

/** The gallery's query parameters, from the schema that validates them. */
const galleryParameters = Object.entries(galleryQuery.shape).map(([name, field]) => ({
  name,
  in: 'query',
  required: false,
  description: field.description,
  schema: schema(field.unwrap() as z.ZodType),
}));

/** The studio's schemas are written inline: the connector, which carries every component, has none of its routes. */
const inline = (s: z.ZodType, description: string) => ({
  description,
  content: { 'application/json': { schema: schema(s) } },
});

export const galleryPaths = {
  '/gallery/images': {
    get: {
      operationId: 'ListGalleryImages',
      tags: [tags.studio],
      summary: 'List kept images',
      description:
        'Lists kept images from the gallery index, newest first, 50 a page, with filters and a search of the prompt. A caller key sees only its own images.',
      security: callerSecurity,
      parameters: galleryParameters,
      responses: { '200': inline(galleryPage, 'A page of images.'), ...errors(400, 401, 503) },
    },
  },
  '/gallery/records/{blob}': {
    get: {
      operationId: 'GetGalleryRecord',
      tags: [tags.studio],
      summary: 'Get a kept image and its record',
      description: 'Reads a kept image as the gallery lists it, with its whole record.',
      security: callerSecurity,
      parameters: [blobParameter],
      responses: {
        '200': inline(
          galleryItem
            .extend({
              kept_record: z.record(z.string(), z.unknown()).describe('The record, exactly as kept beside the image.'),
            })
            .describe('A kept image and its record.'),
          'The image and its record.',
        ),
        ...errors(401, 404, 503),
      },
    },
  },
  '/gallery/thumbnails/{blob}': {
    get: {
      operationId: 'GetGalleryThumbnail',
      tags: [tags.studio],
      summary: 'Get the thumbnail of a kept image',
      description: 'Returns the WebP thumbnail (at most 256 px) kept beside an image; 404 until one is made.',
      security: callerSecurity,
      parameters: [blobParameter],
      responses: { '200': binary('The thumbnail.', 'image/webp'), ...errors(401, 404, 503) },
    },
  },
  '/gallery/files/{blob}': {
    get: {
      operationId: 'GetGalleryFile',
      tags: [tags.studio],
      summary: 'Get a kept image',
      description:
        'Returns a kept image itself, for a caller the app authenticates (a caller key, a signed-in principal, the function key).',
      security: callerSecurity,
      parameters: [blobParameter],
      responses: { '200': binary('The image.', 'image/png', 'image/jpeg', 'image/webp'), ...errors(401, 404, 503) },
    },
  },
  '/gallery/zip': {
    post: {
      operationId: 'ZipGalleryImages',
      tags: [tags.studio],
      summary: 'Download kept images as one ZIP',
      description:
        'Answers the selected images and their records as one ZIP. A selection past its bounds is refused, naming the field, before any image is read.',
      security: callerSecurity,
      requestBody: { required: true, ...inline(zipRequest, 'The images to put in the ZIP.') },
      responses: {
        '200': binary('The ZIP.', 'application/zip'),
        ...errors(400, 401, 404, 413, 503),
        '429': json(
          'AzureError',
          'This instance is writing as many ZIPs as it takes at once (TooManyRequests); retry after Retry-After seconds.',
          retryAfter,
        ),
      },
    },
  },
};
