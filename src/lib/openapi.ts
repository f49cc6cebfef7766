import { z } from 'zod';
import { MAX_KEY_LENGTH } from './idempotency.js';
import { imageGenerationBody, MAX_BODY_BYTES } from './request.js';
import { azureError, imagesResponse, job, jobAccepted } from './schemas.js';

// The OpenAPI 3 document, generated from the same zod schemas the validation uses: there is no
// second copy to keep in step. GET /api/openapi.json serves it; the Power Automate connector is
// derived from it (npm run connector).

const schema = (s: z.ZodType) => z.toJSONSchema(s, { target: 'openapi-3.0', unrepresentable: 'any' });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string, description: string) => ({ description, content: { 'application/json': { schema: ref(name) } } });

const errors = {
  '400': json('AzureError', 'Invalid body, broken JSON, or a prompt the content filter rejected (content_policy_violation). The message names the field.'),
  '413': json('AzureError', `The body is larger than ${MAX_BODY_BYTES} bytes.`),
  '409': json('AzureError', 'A request with the same Idempotency-Key is still running; retry after Retry-After seconds.'),
  '429': json('AzureError', "Azure OpenAI's quota is spent; retry after Retry-After seconds."),
  '502': json('AzureError', 'Azure OpenAI failed or returned something unusable.'),
  '503': json('AzureError', 'Key Vault or Storage is unavailable; retry after Retry-After seconds.'),
  '504': json('AzureError', 'Azure OpenAI did not answer in time.'),
};

const generateParameters = [
  {
    name: 'Prefer',
    in: 'header',
    required: false,
    description: '`respond-async` answers 202 at once with a job to poll (Logic Apps and Power Automate follow it by themselves).',
    schema: { type: 'string', enum: ['respond-async'] },
  },
  {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    description: 'A repeat of the same request with the same key returns the first result without a second generation.',
    schema: { type: 'string', maxLength: MAX_KEY_LENGTH },
  },
];

const servedHeaders = {
  'x-served-model': { schema: { type: 'string' }, description: 'The model that made the images; a DALL·E 3 request is served by a current model.' },
  'x-served-deployment': { schema: { type: 'string' }, description: 'The deployment that made the images.' },
};

const generateResponses = {
  '200': {
    description: 'The images, kept in Blob Storage, in the Azure OpenAI response shape; with stream true, server-sent events (partial images, then each completed image with its url).',
    headers: servedHeaders,
    content: { 'application/json': { schema: ref('ImagesResponse') }, 'text/event-stream': { schema: { type: 'string' } } },
  },
  '202': {
    description: 'Accepted (Prefer: respond-async): poll the Location header.',
    headers: {
      Location: { schema: { type: 'string' }, description: 'The job to poll.' },
      'Retry-After': { schema: { type: 'integer' }, description: 'Seconds to wait before polling.' },
    },
    content: { 'application/json': { schema: ref('JobAccepted') } },
  },
  ...errors,
  '422': json('AzureError', 'The Idempotency-Key was used with a different body.'),
};

const jobIdParameter = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };

const jobResponses = {
  '200': json('Job', 'The job has ended: result or error.'),
  '202': {
    description: 'The job is not finished; poll Location again after Retry-After.',
    headers: { Location: { schema: { type: 'string' } }, 'Retry-After': { schema: { type: 'integer' } } },
    content: { 'application/json': { schema: ref('Job') } },
  },
  '404': json('AzureError', 'No such job.'),
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
    paths: {
      '/images/generations': {
        post: {
          operationId: 'GenerateImages',
          summary: 'Generate images',
          description: 'The Azure OpenAI images body; `model` picks a deployment of the app.',
          parameters: generateParameters,
          requestBody: { required: true, content: { 'application/json': { schema: ref('ImageGenerationRequest') } } },
          responses: generateResponses,
        },
      },
      '/openai/deployments/{deployment}/images/generations': {
        post: {
          operationId: 'GenerateImagesOnDeployment',
          summary: 'Generate images (Azure OpenAI path)',
          description: "The same operation at Azure OpenAI's own path, for the openai SDK's AzureOpenAI client.",
          parameters: [
            { name: 'deployment', in: 'path', required: true, schema: { type: 'string' }, description: 'A deployment of the app.' },
            { name: 'api-version', in: 'query', required: true, schema: { type: 'string', example: '2024-10-21' } },
            ...generateParameters,
          ],
          requestBody: { required: true, content: { 'application/json': { schema: ref('ImageGenerationRequest') } } },
          responses: { ...generateResponses, '404': json('AzureError', 'No such deployment.') },
        },
      },
      '/openai/v1/images/generations': {
        post: {
          operationId: 'GenerateImagesV1',
          summary: 'Generate images (Azure OpenAI v1 path)',
          description: "The same operation at the v1 API's path, for the openai SDK's OpenAI client (baseURL <app>/api/openai/v1); `model` names the deployment.",
          parameters: generateParameters,
          requestBody: { required: true, content: { 'application/json': { schema: ref('ImageGenerationRequest') } } },
          responses: generateResponses,
        },
      },
      '/images/jobs/{id}': {
        get: {
          operationId: 'GetImageJob',
          summary: 'Get an image job',
          description: 'A job from Prefer: respond-async or the image-requests queue. 202 while it runs, 200 once it has succeeded or failed.',
          parameters: [jobIdParameter],
          responses: jobResponses,
        },
      },
      '/images/jobs/{id}/status': {
        get: {
          operationId: 'PollImageJob',
          summary: 'Poll an image job',
          description: "The Location of a 202 answer: one job's status, readable with the token it carries and no function key (a valet key), since Power Automate polls without credentials.",
          security: [],
          parameters: [
            jobIdParameter,
            { name: 'token', in: 'query', required: true, schema: { type: 'string' }, description: 'The poll token from the Location header.' },
          ],
          responses: { ...jobResponses, '401': json('AzureError', 'No token.') },
        },
      },
      '/health': {
        get: {
          operationId: 'GetHealth',
          summary: 'Readiness',
          security: [],
          responses: { '200': { description: 'The app started with valid settings.' } },
        },
      },
      '/health/detail': {
        get: {
          operationId: 'GetHealthDetail',
          summary: 'Deployments and their lifecycle',
          description: "Each deployment's model, version and retirement date, with a warning for those retiring within 90 days.",
          responses: { '200': { description: 'The deployments.' } },
        },
      },
    },
    components: {
      securitySchemes: { functionKey: { type: 'apiKey', in: 'header', name: 'x-functions-key' } },
      schemas: {
        ImageGenerationRequest: schema(imageGenerationBody),
        ImagesResponse: schema(imagesResponse),
        AzureError: schema(azureError),
        Job: schema(job),
        JobAccepted: schema(jobAccepted),
      },
    },
  };
}
