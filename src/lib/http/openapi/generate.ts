import { MAX_KEY_LENGTH } from '../../jobs/idempotency.js';
import { errors, ref, retryAfter } from './shared.js';

// What the three generation paths share: their headers, their body with an example, and their
// answers (the images, the 202 of Prefer: respond-async, the errors).

export const generateParameters = [
  {
    name: 'Prefer',
    in: 'header',
    required: false,
    description:
      'With respond-async the answer is 202 at once, with a Location to poll until the job ends (Logic Apps and Power Automate follow it by themselves).',
    schema: { type: 'string', enum: ['respond-async'] },
  },
  {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    description: 'A repeat of the same request with the same key returns the first answer without a second generation.',
    schema: { type: 'string', maxLength: MAX_KEY_LENGTH },
  },
  {
    name: 'x-result-queue',
    in: 'header',
    required: false,
    description:
      "With Prefer: respond-async, a queue of the app's storage account that gets the job's result when it ends.",
    schema: { type: 'string' },
  },
];

export const servedHeaders = {
  'x-served-model': {
    description: 'The model that made the images; a DALL·E 3 request is served by a current model.',
    schema: { type: 'string' },
  },
  'x-served-deployment': { description: 'The deployment that made the images.', schema: { type: 'string' } },
};

const EXAMPLE_REQUEST = { prompt: 'A lighthouse at dusk, watercolour', size: '1536x1024', quality: 'medium', n: 1 };

export const generateBody = {
  required: true,
  description: 'The Azure OpenAI images body.',
  content: { 'application/json': { schema: ref('ImageGenerationRequest'), example: EXAMPLE_REQUEST } },
};

const EXAMPLE_ANSWER = {
  created: 1764115200,
  size: '1536x1024',
  quality: 'medium',
  output_format: 'png',
  background: 'opaque',
  data: [
    {
      url: 'https://stimages.blob.core.windows.net/images/2026/11/26/003145123-5b1f…-0.png?sv=2021-08-06&se=…&sr=b&sp=r&sig=…',
      storage: {
        container: 'images',
        blob: '2026/11/26/003145123-5b1f…-0.png',
        record: '2026/11/26/003145123-5b1f…-0.png.json',
        url_expires_on: '2026-11-26T01:31:45.000Z',
      },
    },
  ],
};

export const generateResponses = {
  '200': {
    description:
      'The images, kept in Blob Storage, in the Azure OpenAI response shape; with stream true, server-sent events (partial images, then each completed image with its url).',
    headers: servedHeaders,
    content: {
      'application/json': { schema: ref('ImagesResponse'), example: EXAMPLE_ANSWER },
      'text/event-stream': { schema: { type: 'string' } },
    },
  },
  '202': {
    description: 'Accepted (Prefer: respond-async): poll the Location header until the job ends.',
    headers: {
      Location: {
        description:
          'The job to poll: it answers 202 while the job runs, then what the synchronous call would have answered.',
        schema: { type: 'string' },
      },
      ...retryAfter,
    },
    content: { 'application/json': { schema: ref('JobAccepted') } },
  },
  ...errors(400, 401, 403, 409, 413, 422, 429, 502, 503, 504),
};
