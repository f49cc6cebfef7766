import { z } from 'zod';
import { callerKeyInfo, callerKeyRequest, CALLER_KEY_PREFIX } from './callerKeys.js';
import { MAX_KEY_LENGTH } from './idempotency.js';
import { imageGenerationBody, MAX_BODY_BYTES } from './request.js';
import { azureError, estimateAnswer, imagesResponse, job, jobAccepted, usageAnswer } from './schemas.js';

// The OpenAPI 3 document, generated from the same zod schemas the validation uses: there is no
// second copy to keep in step. GET /api/openapi.json serves it; the Power Automate connector is
// derived from it (npm run connector).

const schema = (s: z.ZodType) => z.toJSONSchema(s, { target: 'openapi-3.0', unrepresentable: 'any' });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string, description: string) => ({ description, content: { 'application/json': { schema: ref(name) } } });

const retryAfter = { 'Retry-After': { schema: { type: 'integer' }, description: 'Seconds to wait before trying again.' } };

/** What the routes the app authenticates itself may answer before any work. */
const authErrors = {
  '401': json('AzureError', 'No key, an unknown or revoked caller key, or a function key the host does not take.'),
  '403': json('AzureError', "The caller key may not use the model the request would be served by (model_not_allowed)."),
};

const errors = {
  '400': json('AzureError', 'Invalid body, broken JSON, or a prompt the content filter rejected (content_policy_violation). The message names the field.'),
  ...authErrors,
  '413': json('AzureError', `The body is larger than ${MAX_BODY_BYTES} bytes.`),
  '409': json('AzureError', 'A request with the same Idempotency-Key is still running; retry after Retry-After seconds.'),
  '429': {
    ...json('AzureError', "Azure OpenAI's quota is spent, or the request would pass the caller's or the app's daily budget (budget_exceeded; Retry-After until 00:00 UTC). Retry after Retry-After seconds."),
    headers: retryAfter,
  },
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

/** A caller key (api-key, as AzureOpenAI sends it, or Bearer, as OpenAI does), or the function key. */
const callerSecurity = [{ callerKey: [] }, { callerBearer: [] }, { functionKey: [] }];

const usageParameters = [
  { name: 'caller', in: 'query', required: false, schema: { type: 'string' }, description: 'One caller: a caller key\'s name, `<provider>:<name>`, `anonymous` or `queue`.' },
  { name: 'from', in: 'query', required: false, schema: { type: 'string', format: 'date' }, description: 'First UTC day (YYYY-MM-DD); `to` by default.' },
  { name: 'to', in: 'query', required: false, schema: { type: 'string', format: 'date' }, description: 'Last UTC day (YYYY-MM-DD); today by default. At most 366 days from `from`.' },
  { name: 'groupBy', in: 'query', required: false, schema: { type: 'string', example: 'caller,model' }, description: 'Comma-separated: day, caller, model (all three by default; empty for one total).' },
];

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
          security: callerSecurity,
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
          security: callerSecurity,
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
          security: callerSecurity,
          parameters: generateParameters,
          requestBody: { required: true, content: { 'application/json': { schema: ref('ImageGenerationRequest') } } },
          responses: generateResponses,
        },
      },
      '/images/estimate': {
        post: {
          operationId: 'EstimateImages',
          summary: 'Estimate what a generation would cost',
          description: 'The generation body: the most it can cost (from the price table) and the model, deployment and parameters that would serve it, after any DALL·E 3 translation. Nothing is generated or spent.',
          security: callerSecurity,
          requestBody: { required: true, content: { 'application/json': { schema: ref('ImageGenerationRequest') } } },
          responses: {
            '200': json('Estimate', 'The estimate, and who would serve the request.'),
            '400': json('AzureError', 'Invalid body. The message names the field.'),
            ...authErrors,
            '413': json('AzureError', `The body is larger than ${MAX_BODY_BYTES} bytes.`),
          },
        },
      },
      '/keys': {
        post: {
          operationId: 'CreateCallerKey',
          summary: 'Issue a caller key',
          description: `A key of its own for a caller (${CALLER_KEY_PREFIX}…), sent as api-key or Authorization: Bearer. The answer is the only place the key ever appears: only its SHA-256 is kept.`,
          requestBody: { required: true, content: { 'application/json': { schema: ref('CallerKeyRequest') } } },
          responses: { '201': json('IssuedCallerKey', 'The key, shown this once.'), '400': json('AzureError', 'Invalid body. The message names the field.') },
        },
        get: {
          operationId: 'ListCallerKeys',
          summary: 'List caller keys',
          description: 'Every caller key issued, revoked ones included, without the keys.',
          responses: { '200': { description: 'The caller keys.', content: { 'application/json': { schema: { type: 'object', properties: { data: { type: 'array', items: ref('CallerKey') } } } } } } },
        },
      },
      '/keys/{id}': {
        delete: {
          operationId: 'RevokeCallerKey',
          summary: 'Revoke a caller key',
          description: 'The key stops working at once on the instance that revokes it, and on every instance within AUTH_CACHE_TTL_SECONDS (at most a minute).',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'The key\'s id (not the key).' }],
          responses: { '200': json('CallerKey', 'The key as revoked.'), '404': json('AzureError', 'No such key.') },
        },
      },
      '/usage': {
        get: {
          operationId: 'GetUsage',
          summary: 'Usage totals',
          description: 'Requests, images and USD per caller, model and UTC day, from the usage ledger. Accept: text/csv answers CSV.',
          parameters: usageParameters,
          responses: {
            '200': { description: 'The totals.', content: { 'application/json': { schema: ref('Usage') }, 'text/csv': { schema: { type: 'string' } } } },
            '400': json('AzureError', 'A bad query parameter, named.'),
            '404': json('AzureError', 'No usage is kept (LEDGER_ENABLED is off).'),
          },
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
      '/auth/check': {
        get: {
          operationId: 'CheckFunctionKey',
          summary: 'Whether the host takes a function key',
          description: 'The app asks its own host this about a function key sent to a route the app authenticates itself.',
          responses: { '204': { description: 'The host took the function key.' }, '401': { description: 'It did not.' } },
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
      },
    },
  };
}
