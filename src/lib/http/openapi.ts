import { appPaths } from './openapi/app.js';
import { callerPaths } from './openapi/callers.js';
import { components } from './openapi/components.js';
import { galleryPaths } from './openapi/gallery.js';
import { generationPaths, imageFilePaths } from './openapi/images.js';
import { jobPaths } from './openapi/jobs.js';
import { modelPaths } from './openapi/models.js';
import { tags } from './openapi/shared.js';
import { studioPagePaths } from './openapi/studio.js';
import { webhookPaths } from './openapi/webhooks.js';

// The OpenAPI 3 document, generated from the same zod schemas the validation uses: there is no
// second copy to keep in step. GET /api/openapi.json serves it; the Power Platform connector is
// derived from it (npm run connector). Every operation, parameter and property says what it is in
// a sentence, as connector certification asks. Each tag's paths are in openapi/, in the order the
// document has always listed them.

export function openApiDocument() {
  return {
    openapi: '3.0.3',
    info: {
      title: 'Image generation',
      version: '1.0.0',
      description:
        "Turns a prompt into images with Azure OpenAI's current image models (gpt-image-2, gpt-image-1.5, gpt-image-1-mini) and keeps every one in Blob Storage, beside a record of how it was made. Requests written for DALL·E 3 are served by a current model.",
    },
    servers: [{ url: '/api' }],
    security: [{ functionKey: [] }],
    tags: Object.values(tags).map((name) => ({ name })),
    paths: {
      ...generationPaths,
      ...callerPaths,
      ...jobPaths,
      ...imageFilePaths,
      ...webhookPaths,
      ...galleryPaths,
      ...studioPagePaths,
      ...modelPaths,
      ...appPaths,
    },
    components,
  };
}
