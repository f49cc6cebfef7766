import { z } from 'zod';

// The shapes the app answers with and the queue carries. Their TypeScript types and the OpenAPI
// document (openapi.ts) come from here. Azure's own fields are kept loose: the service adds fields
// over time, and strict parsers have broken on them before.

const severity = z.looseObject({ filtered: z.boolean(), severity: z.enum(['safe', 'low', 'medium', 'high']) });
const detected = z.looseObject({ filtered: z.boolean(), detected: z.boolean() });

export const contentFilterResults = z
  .looseObject({
    hate: severity.optional(),
    self_harm: severity.optional(),
    sexual: severity.optional(),
    violence: severity.optional(),
    profanity: detected.optional(),
    jailbreak: detected.optional(),
  })
  .describe("Azure OpenAI's content filter results, as the service returned them.");

export const storageLocation = z
  .object({
    container: z.string(),
    blob: z.string().describe('The image blob.'),
    record: z.string().describe('The JSON record beside it: prompt, requested and served model and parameters, filter results.'),
    url_expires_on: z.string().describe('When `url` stops working (ISO 8601).'),
  })
  .describe('Where the image is kept.');

export const imageData = z.looseObject({
  url: z.string().optional().describe('A read-only SAS URL for the kept image, readable without credentials until it expires.'),
  b64_json: z.string().optional().describe('The image, base64, when response_format is b64_json or the model answers only that way.'),
  content_filter_results: contentFilterResults.optional(),
  prompt_filter_results: contentFilterResults.optional(),
  storage: storageLocation.optional(),
});

export const imagesResponse = z.looseObject({
  created: z.number().int().describe('Unix seconds.'),
  data: z.array(imageData),
  usage: z.looseObject({}).optional().describe('Token usage (gpt-image models), as the service returned it.'),
});

export const azureError = z.object({
  error: z.object({
    code: z.string(),
    message: z.string().describe('What went wrong, naming the field when a field is at fault.'),
    param: z.string().optional(),
    type: z.string().optional(),
    inner_error: z.looseObject({}).optional().describe("The service's details, e.g. content filter results."),
  }),
});

export const jobId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'must be 1 to 64 letters, digits, - or _')
  .describe('The job id; the same id is never generated twice.');

export const jobStatus = z.enum(['notStarted', 'running', 'succeeded', 'failed']);

export const job = z.object({
  id: jobId,
  status: jobStatus,
  created: z.number().int().describe('Unix seconds.'),
  result: imagesResponse.optional().describe('When succeeded: the same body the synchronous call answers.'),
  error: azureError.shape.error.optional().describe('When failed.'),
});

export const jobAccepted = z.object({ id: jobId, status: jobStatus });

/** POST /api/images/estimate's answer. */
export const estimateAnswer = z.object({
  caller: z.string().describe('Who would spend it.'),
  requested_model: z.string(),
  served: z.object({ model: z.string(), deployment: z.string(), params: z.looseObject({}).describe('The parameters the serving model would get (the prompt left out).') }),
  estimate: z
    .looseObject({
      usd: z.number().optional().describe('The most the request can cost: what is held on the budgets before the call.'),
      basis: z.literal('table').optional(),
      unpriced: z.literal(true).optional().describe('The price table has no price for the model: never counted as free.'),
      table_version: z.string(),
    })
    .describe('From the price table: `auto` sizes and qualities are priced at the dearest they can become, and the prompt at its UTF-8 bytes.'),
});

/** GET /api/usage's answer. */
export const usageAnswer = z.object({
  from: z.string(),
  to: z.string(),
  caller: z.string().optional(),
  group_by: z.array(z.enum(['day', 'caller', 'model'])),
  data: z.array(
    z.object({
      day: z.string().optional(),
      caller: z.string().optional(),
      model: z.string().optional(),
      requests: z.int(),
      images: z.int(),
      usd: z.number(),
      unpriced_images: z.int().describe('Images of models the price table has no price for: not in usd.'),
    }),
  ),
});

/** A message on image-results. */
export const queueResult = z.object({
  id: jobId,
  status: z.enum(['succeeded', 'failed']),
  data: z.array(imageData).optional(),
  error: azureError.shape.error.optional(),
});

export type ImageData = z.infer<typeof imageData>;
export type ImagesResponse = z.infer<typeof imagesResponse>;
export type Job = z.infer<typeof job>;
export type JobStatus = z.infer<typeof jobStatus>;
export type QueueResult = z.infer<typeof queueResult>;
export type AzureErrorBody = z.infer<typeof azureError>;
