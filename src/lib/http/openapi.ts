import { z } from 'zod';
import { zipRequest } from '../gallery/archive.js';
import { callerKeyInfo, callerKeyRequest, CALLER_KEY_PREFIX } from '../callers/callerKeys.js';
import { galleryItem, galleryPage, galleryQuery } from '../gallery/imageIndex.js';
import { MAX_KEY_LENGTH } from '../jobs/idempotency.js';
import { imageGenerationBody, MAX_BODY_BYTES } from '../core/request.js';
import { azureError, estimateAnswer, imagesResponse, job, jobAccepted, jobEvent, subscription, subscriptionRequest, usageAnswer } from '../core/schemas.js';

// The OpenAPI 3 document, generated from the same zod schemas the validation uses: there is no
// second copy to keep in step. GET /api/openapi.json serves it; the Power Platform connector is
// derived from it (npm run connector). Every operation, parameter and property says what it is in
// a sentence, as connector certification asks.

const schema = (s: z.ZodType) => z.toJSONSchema(s, { target: 'openapi-3.0', unrepresentable: 'any' });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string, description: string, headers?: Record<string, object>) => ({
  description,
  ...(headers && { headers }),
  content: { 'application/json': { schema: ref(name) } },
});

const retryAfter = { 'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer' } } };

/** Every error an operation may answer, in Azure's shape; pick those that apply. */
const ERRORS = {
  '400': json('AzureError', 'The request is invalid (the message names the field), or the content filter refused the prompt (content_policy_violation).'),
  '401': json('AzureError', 'No key, an unknown or revoked caller key, or a function key the host does not take.'),
  '403': json('AzureError', 'The caller key may not use the model the request would be served by (model_not_allowed).'),
  '404': json('AzureError', 'There is no such resource.'),
  '409': json('AzureError', 'A request with the same Idempotency-Key is still running; retry after Retry-After seconds.', retryAfter),
  '413': json('AzureError', `The body is larger than ${MAX_BODY_BYTES} bytes.`),
  '422': json('AzureError', 'The Idempotency-Key was used with a different body.'),
  '429': json('AzureError', "Azure OpenAI's quota is spent, or the request would pass the caller's or the app's daily budget (budget_exceeded, until 00:00 UTC); retry after Retry-After seconds.", retryAfter),
  '502': json('AzureError', 'Azure OpenAI failed or answered something unusable.'),
  '503': json('AzureError', 'Key Vault or Storage is unavailable; retry after Retry-After seconds.', retryAfter),
  '504': json('AzureError', 'Azure OpenAI did not answer in time; the request is not sent again, since the image may have been made.'),
} as const;
const errors = (...statuses: (keyof typeof ERRORS)[]) => Object.fromEntries(statuses.map((s) => [s, ERRORS[s]]));

const generateParameters = [
  {
    name: 'Prefer',
    in: 'header',
    required: false,
    description: 'With respond-async the answer is 202 at once, with a Location to poll until the job ends (Logic Apps and Power Automate follow it by themselves).',
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
    description: "With Prefer: respond-async, a queue of the app's storage account that gets the job's result when it ends.",
    schema: { type: 'string' },
  },
];

const servedHeaders = {
  'x-served-model': { description: 'The model that made the images; a DALL·E 3 request is served by a current model.', schema: { type: 'string' } },
  'x-served-deployment': { description: 'The deployment that made the images.', schema: { type: 'string' } },
};

const EXAMPLE_REQUEST = { prompt: 'A lighthouse at dusk, watercolour', size: '1536x1024', quality: 'medium', n: 1 };

const generateBody = {
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
      storage: { container: 'images', blob: '2026/11/26/003145123-5b1f…-0.png', record: '2026/11/26/003145123-5b1f…-0.png.json', url_expires_on: '2026-11-26T01:31:45.000Z' },
    },
  ],
};

const generateResponses = {
  '200': {
    description: 'The images, kept in Blob Storage, in the Azure OpenAI response shape; with stream true, server-sent events (partial images, then each completed image with its url).',
    headers: servedHeaders,
    content: { 'application/json': { schema: ref('ImagesResponse'), example: EXAMPLE_ANSWER }, 'text/event-stream': { schema: { type: 'string' } } },
  },
  '202': {
    description: 'Accepted (Prefer: respond-async): poll the Location header until the job ends.',
    headers: {
      Location: { description: 'The job to poll: it answers 202 while the job runs, then what the synchronous call would have answered.', schema: { type: 'string' } },
      ...retryAfter,
    },
    content: { 'application/json': { schema: ref('JobAccepted') } },
  },
  ...errors('400', '401', '403', '409', '413', '422', '429', '502', '503', '504'),
};

/** A caller key (api-key, as AzureOpenAI sends it, or Bearer, as OpenAI does), or the function key. */
const callerSecurity = [{ callerKey: [] }, { callerBearer: [] }, { functionKey: [] }];

const usageParameters = [
  { name: 'caller', in: 'query', required: false, schema: { type: 'string' }, description: "One caller: a caller key's name, `<provider>:<name>`, `anonymous` or `queue`." },
  { name: 'from', in: 'query', required: false, schema: { type: 'string', format: 'date' }, description: 'The first UTC day (YYYY-MM-DD); `to` by default.' },
  { name: 'to', in: 'query', required: false, schema: { type: 'string', format: 'date' }, description: 'The last UTC day (YYYY-MM-DD); today by default. At most 366 days from `from`.' },
  { name: 'groupBy', in: 'query', required: false, schema: { type: 'string', example: 'caller,model' }, description: 'Comma-separated: day, caller, model (all three by default; empty for one total).' },
];

const pathParameter = (name: string, description: string) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });
const jobIdParameter = pathParameter('id', 'The job id from the 202 answer or the queue message.');
const blobParameter = pathParameter('blob', "The image blob's name, as the answer's storage.blob gives it (for example 2026/11/26/003145123-…-0.png).");
const deploymentParameter = pathParameter('deployment', 'A deployment of the app, as GET /models lists them.');
const subscriptionIdParameter = pathParameter('id', 'The subscription id from the 201 answer.');

/** The gallery's query parameters, from the schema that validates them. */
const galleryParameters = Object.entries(galleryQuery.shape).map(([name, field]) => ({
  name,
  in: 'query',
  required: false,
  description: field.description,
  schema: schema(field.unwrap() as z.ZodType),
}));

/** The studio's schemas are written inline: the connector, which carries every component, has none of its routes. */
const inline = (s: z.ZodType, description: string) => ({ description, content: { 'application/json': { schema: schema(s) } } });

const binary = (description: string, ...types: string[]) => ({ description, content: Object.fromEntries(types.map((t) => [t, { schema: { type: 'string', format: 'binary' } }])) });

const tags = {
  images: 'Images',
  studio: 'Studio',
  jobs: 'Jobs',
  models: 'Models',
  webhooks: 'Webhooks',
  callers: 'Callers and usage',
  app: 'App',
};

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
      '/images/generations': {
        post: {
          operationId: 'GenerateImages',
          tags: [tags.images],
          summary: 'Generate images',
          description: 'Generates images from a prompt with the Azure OpenAI images body, keeps each in Blob Storage, and answers with durable URLs; `model` picks a deployment.',
          security: callerSecurity,
          parameters: generateParameters,
          requestBody: generateBody,
          responses: generateResponses,
        },
      },
      '/openai/deployments/{deployment}/images/generations': {
        post: {
          operationId: 'GenerateImagesOnDeployment',
          tags: [tags.images],
          summary: 'Generate images on a deployment',
          description: "Generates images at Azure OpenAI's dated path, the one the openai SDK's AzureOpenAI client calls; a retired model's name (dall-e-3) is served by its successor.",
          security: callerSecurity,
          parameters: [
            deploymentParameter,
            { name: 'api-version', in: 'query', required: true, description: 'A dated Azure OpenAI api-version, such as 2024-10-21.', schema: { type: 'string', example: '2024-10-21' } },
            ...generateParameters,
          ],
          requestBody: generateBody,
          responses: { ...generateResponses, ...errors('404') },
        },
      },
      '/openai/v1/images/generations': {
        post: {
          operationId: 'GenerateImagesV1',
          tags: [tags.images],
          summary: 'Generate images (v1 path)',
          description: "Generates images at Azure OpenAI's v1 path, the one the openai SDK's OpenAI client calls (baseURL <app>/api/openai/v1); `model` names the deployment.",
          security: callerSecurity,
          parameters: generateParameters,
          requestBody: generateBody,
          responses: generateResponses,
        },
      },
      '/images/estimate': {
        post: {
          operationId: 'EstimateImages',
          tags: [tags.callers],
          summary: 'Estimate what a generation would cost',
          description: 'Answers the most a generation body can cost (from the price table), and the model, deployment and parameters that would serve it, after any DALL·E 3 translation. Nothing is generated or spent.',
          security: callerSecurity,
          requestBody: generateBody,
          responses: { '200': json('Estimate', 'The estimate, and who would serve the request.'), ...errors('400', '401', '403', '413') },
        },
      },
      '/keys': {
        post: {
          operationId: 'CreateCallerKey',
          tags: [tags.callers],
          summary: 'Issue a caller key',
          description: `Issues a key of its own for a caller (${CALLER_KEY_PREFIX}…), sent as api-key or Authorization: Bearer. The answer is the only place the key ever appears: only its SHA-256 is kept.`,
          requestBody: { required: true, description: 'The caller, and what the key may do.', content: { 'application/json': { schema: ref('CallerKeyRequest') } } },
          responses: { '201': json('IssuedCallerKey', 'The key, shown this once.'), ...errors('400', '401', '503') },
        },
        get: {
          operationId: 'ListCallerKeys',
          tags: [tags.callers],
          summary: 'List caller keys',
          description: 'Lists every caller key issued, revoked ones included, without the keys.',
          responses: {
            '200': { description: 'The caller keys.', content: { 'application/json': { schema: { type: 'object', properties: { data: { type: 'array', items: ref('CallerKey'), description: 'The caller keys.' } } } } } },
            ...errors('401', '503'),
          },
        },
      },
      '/keys/{id}': {
        delete: {
          operationId: 'RevokeCallerKey',
          tags: [tags.callers],
          summary: 'Revoke a caller key',
          description: 'Revokes a key: it stops working at once on the instance that revokes it, and on every instance within AUTH_CACHE_TTL_SECONDS (at most a minute).',
          parameters: [pathParameter('id', "The key's id (not the key).")],
          responses: { '200': json('CallerKey', 'The key as revoked.'), ...errors('401', '404', '503') },
        },
      },
      '/usage': {
        get: {
          operationId: 'GetUsage',
          tags: [tags.callers],
          summary: 'Usage totals',
          description: 'Answers requests, images and USD per caller, model and UTC day, from the usage ledger. Accept: text/csv answers CSV.',
          parameters: usageParameters,
          responses: {
            '200': { description: 'The totals.', content: { 'application/json': { schema: ref('Usage') }, 'text/csv': { schema: { type: 'string' } } } },
            ...errors('400', '401', '404', '503'),
          },
        },
      },
      '/images/jobs/{id}': {
        get: {
          operationId: 'GetImageJob',
          tags: [tags.jobs],
          summary: 'Get an image job',
          description: 'Reads a job from Prefer: respond-async or the image-requests queue: always 200, with its status, and its result or error once it has ended.',
          parameters: [jobIdParameter],
          responses: { '200': json('Job', 'The job.'), ...errors('401', '404', '503') },
        },
      },
      '/images/jobs/{id}/status': {
        get: {
          operationId: 'PollImageJob',
          tags: [tags.jobs],
          summary: 'Poll an image job',
          description:
            'The Location of a 202 answer: 202 while the job runs, then what the synchronous call would have answered (200 with the images, or the error with its status). It needs no function key: the token it carries reads that one job (a valet key), since Power Automate polls without credentials.',
          security: [],
          parameters: [jobIdParameter, { name: 'token', in: 'query', required: true, description: 'The poll token from the Location header.', schema: { type: 'string' } }],
          responses: {
            '200': json('ImagesResponse', 'The job succeeded: the images, with URLs signed afresh.', servedHeaders),
            '202': {
              description: 'The job runs; poll Location again after Retry-After seconds.',
              headers: { Location: { description: 'Where to poll next.', schema: { type: 'string' } }, ...retryAfter },
              content: { 'application/json': { schema: ref('JobAccepted') } },
            },
            ...errors('400', '401', '404', '429', '502', '503', '504'),
          },
        },
      },
      '/images/files/{blob}': {
        get: {
          operationId: 'GetImageFile',
          tags: [tags.images],
          summary: 'Get an image file',
          description: 'Returns a kept image itself, its bytes with its content type, for a step that saves a file.',
          parameters: [blobParameter],
          responses: {
            '200': binary('The image.', 'image/png', 'image/jpeg'),
            ...errors('401', '404', '503'),
          },
        },
      },
      '/images/links/{blob}': {
        get: {
          operationId: 'GetImageLink',
          tags: [tags.images],
          summary: 'Follow a permanent image link',
          description: "A link to a kept image that does not expire: it redirects to a read-only URL signed at that moment. Give it a function key for this function alone to share it.",
          parameters: [blobParameter],
          responses: {
            '302': { description: 'Redirects to a fresh read-only URL of the image.', headers: { Location: { description: 'The image, readable for IMAGE_URL_TTL_MINUTES.', schema: { type: 'string' } } } },
            ...errors('401', '404', '503'),
          },
        },
      },
      '/images/subscriptions': {
        post: {
          operationId: 'SubscribeImageEvents',
          tags: [tags.webhooks],
          summary: 'Subscribe to image jobs that end',
          description:
            'Delivers the end of image jobs to a callback URL (the x-ms-notification-url header, or callback_url): of one job, when the body brings a request to run, or of every job that ends. Deliveries are signed as Standard Webhooks specifies and retried with backoff.',
          parameters: [{ name: 'x-ms-notification-url', in: 'header', required: false, description: 'Where to POST: set by Power Automate and Logic Apps.', schema: { type: 'string' } }],
          requestBody: { required: false, description: 'What to subscribe to.', content: { 'application/json': { schema: ref('SubscriptionRequest') } } },
          responses: {
            '201': json('Subscription', 'Subscribed; DELETE the Location to unsubscribe.', {
              Location: { description: 'The subscription: DELETE it to unsubscribe.', schema: { type: 'string' } },
            }),
            ...errors('400', '401', '413', '503'),
          },
        },
        delete: {
          operationId: 'UnsubscribeImageEventsByCallback',
          tags: [tags.webhooks],
          summary: 'Unsubscribe a callback URL',
          description: "Ends every subscription of a callback URL: Logic Apps' HTTP Webhook action knows its callback, not the subscription's id.",
          parameters: [{ name: 'callback_url', in: 'query', required: true, description: 'The callback URL the subscriptions deliver to.', schema: { type: 'string' } }],
          responses: { '200': json('Unsubscribed', 'How many subscriptions ended.'), ...errors('400', '401', '503') },
        },
      },
      '/images/subscriptions/{id}': {
        get: {
          operationId: 'GetImageSubscription',
          tags: [tags.webhooks],
          summary: 'Get a subscription',
          description: 'Reads a subscription: its deliveries, and those given up on with the last reason.',
          parameters: [subscriptionIdParameter],
          responses: { '200': json('Subscription', 'The subscription.'), ...errors('401', '404', '503') },
        },
        delete: {
          operationId: 'UnsubscribeImageEvents',
          tags: [tags.webhooks],
          summary: 'Unsubscribe',
          description: 'Ends a subscription: the Location its 201 answer gave.',
          parameters: [subscriptionIdParameter],
          responses: { '200': json('Unsubscribed', 'The subscription ended.'), ...errors('401', '404', '503') },
        },
      },
      '/gallery/images': {
        get: {
          operationId: 'ListGalleryImages',
          tags: [tags.studio],
          summary: 'List kept images',
          description: 'Lists kept images from the gallery index, newest first, 50 a page, with filters and a search of the prompt. A caller key sees only its own images.',
          security: callerSecurity,
          parameters: galleryParameters,
          responses: { '200': inline(galleryPage, 'A page of images.'), ...errors('400', '401', '503') },
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
            '200': inline(galleryItem.extend({ kept_record: z.record(z.string(), z.unknown()).describe('The record, exactly as kept beside the image.') }).describe('A kept image and its record.'), 'The image and its record.'), ...errors('401', '404', '503') },
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
          responses: { '200': binary('The thumbnail.', 'image/webp'), ...errors('401', '404', '503') },
        },
      },
      '/gallery/files/{blob}': {
        get: {
          operationId: 'GetGalleryFile',
          tags: [tags.studio],
          summary: 'Get a kept image',
          description: 'Returns a kept image itself, for a caller the app authenticates (a caller key, a signed-in principal, the function key).',
          security: callerSecurity,
          parameters: [blobParameter],
          responses: { '200': binary('The image.', 'image/png', 'image/jpeg', 'image/webp'), ...errors('401', '404', '503') },
        },
      },
      '/gallery/zip': {
        post: {
          operationId: 'ZipGalleryImages',
          tags: [tags.studio],
          summary: 'Download kept images as one ZIP',
          description: 'Answers the selected images and their records as one ZIP. A selection past its bounds is refused, naming the field, before any image is read.',
          security: callerSecurity,
          requestBody: { required: true, ...inline(zipRequest, 'The images to put in the ZIP.') },
          responses: { '200': binary('The ZIP.', 'application/zip'), ...errors('400', '401', '404', '413', '503'), '429': json('AzureError', 'This instance is writing as many ZIPs as it takes at once (TooManyRequests); retry after Retry-After seconds.', retryAfter) },
        },
      },
      '/studio': {
        get: {
          operationId: 'GetStudio',
          tags: [tags.studio],
          summary: 'The studio page',
          description: 'The studio page: a shell holding no data, so it loads without credentials; the page asks for a key or a sign-in.',
          security: [],
          responses: { '200': { description: 'The page.', content: { 'text/html': { schema: { type: 'string' } } } } },
        },
      },
      '/studio/assets/{file}': {
        get: {
          operationId: 'GetStudioAsset',
          tags: [tags.studio],
          summary: "A file of the studio's page",
          description: "The studio page's script or style sheet, named by its content's hash and cached for a year.",
          security: [],
          parameters: [pathParameter('file', 'The file name, as the page names it.')],
          responses: { '200': { description: 'The file.', content: { 'text/javascript': { schema: { type: 'string' } }, 'text/css': { schema: { type: 'string' } } } }, ...errors('404') },
        },
      },
      '/models': {
        get: {
          operationId: 'ListModels',
          tags: [tags.models],
          summary: 'List deployments',
          description: "Lists the app's deployments with what each accepts: sizes, qualities, image counts, formats.",
          security: callerSecurity,
          responses: { '200': json('DeploymentList', 'The deployments.'), ...errors('401', '503') },
        },
      },
      '/models/{deployment}': {
        get: {
          operationId: 'GetModel',
          tags: [tags.models],
          summary: 'Get a deployment',
          description: 'Reads what one deployment accepts.',
          security: callerSecurity,
          parameters: [deploymentParameter],
          responses: { '200': json('Deployment', 'The deployment.'), ...errors('401', '404', '503') },
        },
      },
      '/models/{deployment}/schema': {
        get: {
          operationId: 'GetModelSchema',
          tags: [tags.models],
          security: callerSecurity,
          summary: 'Get the body a deployment takes',
          description: "Answers the JSON Schema of the body one deployment takes, its sizes offered as choices: the connector's dynamic schema.",
          parameters: [deploymentParameter],
          responses: {
            '200': { description: 'The JSON Schema, under schema.', content: { 'application/json': { schema: { type: 'object', properties: { schema: { type: 'object', description: 'The JSON Schema of the body.' } } } } } },
            ...errors('401', '404', '503'),
          },
        },
      },
      '/health': {
        get: {
          operationId: 'GetHealth',
          tags: [tags.app],
          summary: 'Readiness',
          description: 'Answers 200 once the app started with valid settings; it touches no dependency.',
          security: [],
          responses: { '200': { description: 'The app is ready.' } },
        },
      },
      '/auth/check': {
        get: {
          operationId: 'CheckFunctionKey',
          tags: [tags.app],
          summary: 'Whether the host takes a function key',
          description: 'Answers 204 when the host took the function key: the app asks its own host this about a function key sent to a route the app authenticates itself.',
          responses: { '204': { description: 'The host took the function key.' }, ...errors('401') },
        },
      },
      '/health/detail': {
        get: {
          operationId: 'GetHealthDetail',
          tags: [tags.app],
          summary: 'Deployments and their lifecycle',
          description: "Lists each deployment's model, version and retirement date, and how the price table prices it, with a warning for those retiring within 90 days or without a price.",
          responses: { '200': { description: 'The deployments.' }, ...errors('401') },
        },
      },
    },
    components: {
      securitySchemes: {
        functionKey: { type: 'apiKey', in: 'header', name: 'x-functions-key' },
        callerKey: { type: 'apiKey', in: 'header', name: 'api-key', description: 'A caller key, as the AzureOpenAI client sends its apiKey.' },
        callerBearer: { type: 'http', scheme: 'bearer', description: 'A caller key, as the OpenAI client sends its apiKey.' },
      },
      schemas: {
        ImageGenerationRequest: schema(imageGenerationBody),
        Estimate: schema(estimateAnswer),
        CallerKeyRequest: schema(callerKeyRequest),
        CallerKey: schema(callerKeyInfo),
        IssuedCallerKey: schema(callerKeyInfo.extend({ key: z.string().describe('The caller key: shown this once.') })),
        Usage: schema(usageAnswer),
        ImagesResponse: schema(imagesResponse),
        AzureError: schema(azureError),
        Job: schema(job),
        JobAccepted: schema(jobAccepted),
        JobEvent: schema(jobEvent),
        SubscriptionRequest: schema(subscriptionRequest),
        Subscription: schema(subscription),
        Unsubscribed: schema(z.object({ deleted: z.int().describe('How many subscriptions ended.') }).describe('The outcome of an unsubscribe.')),
        Deployment: schema(deploymentSchema),
        DeploymentList: schema(z.object({ data: z.array(deploymentSchema).describe('The deployments.') }).describe("The app's deployments.")),
      },
    },
  };
}

const deploymentSchema = z
  .object({
    deployment: z.string().describe('The deployment name callers use.'),
    model: z.string().describe('The model it runs.'),
    version: z.string().describe('The model version.'),
    retires: z.string().describe('When the model retires (YYYY-MM-DD).'),
    sizes: z.array(z.string()).describe('The sizes it takes, or common ones where a rule decides.'),
    size_rule: z.string().optional().describe('Where a rule decides the size: the rule.'),
    qualities: z.array(z.string()).describe('The qualities it takes.'),
    n_max: z.int().describe('The most images one request may ask for.'),
    output_formats: z.array(z.string()).describe('The image formats it makes.'),
    backgrounds: z.array(z.string()).describe('The backgrounds it takes.'),
    partial_images_max: z.int().describe('The most partial images a stream may send.'),
  })
  .describe('A deployment and what it accepts.');
