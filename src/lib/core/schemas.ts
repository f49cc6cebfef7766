import { z } from 'zod';
import { imageGenerationBody } from './request.js';

// The shapes the app answers with and the queue carries. Their TypeScript types and the OpenAPI
// document (openapi.ts) come from here. Azure's own fields are kept loose: the service adds fields
// over time, and strict parsers have broken on them before.

const filtered = z.boolean().describe('Whether the filter blocked it.');
const severity = (category: string) =>
  z
    .looseObject({
      filtered,
      severity: z.enum(['safe', 'low', 'medium', 'high']).describe('How severe the content was judged.'),
    })
    .optional()
    .describe(`The ${category} category.`);
const detected = (category: string) =>
  z
    .looseObject({ filtered, detected: z.boolean().describe('Whether it was detected.') })
    .optional()
    .describe(`${category} detection.`);

export const contentFilterResults = z
  .looseObject({
    hate: severity('hate'),
    self_harm: severity('self-harm'),
    sexual: severity('sexual'),
    violence: severity('violence'),
    profanity: detected('Profanity'),
    jailbreak: detected('Jailbreak'),
  })
  .describe("Azure OpenAI's content filter results, as the service returned them.");

export const storageLocation = z
  .object({
    container: z.string().describe('The blob container.'),
    blob: z.string().describe('The image blob.'),
    record: z
      .string()
      .describe('The JSON record beside it: prompt, requested and served model and parameters, filter results.'),
    url_expires_on: z.string().describe('When `url` stops working (ISO 8601).'),
  })
  .describe('Where the image is kept.');

export const imageData = z
  .looseObject({
    url: z
      .string()
      .optional()
      .describe('A read-only SAS URL for the kept image, readable without credentials until it expires.'),
    b64_json: z
      .string()
      .optional()
      .describe('The image, base64, when response_format is b64_json or the model answers only that way.'),
    content_filter_results: contentFilterResults.optional().describe("The content filter's results for the image."),
    prompt_filter_results: contentFilterResults.optional().describe("The content filter's results for the prompt."),
    storage: storageLocation.optional(),
  })
  .describe('One image.');

export const imagesResponse = z
  .looseObject({
    created: z.number().int().describe('When the images were made, in Unix seconds.'),
    data: z.array(imageData).describe('The images.'),
    usage: z.looseObject({}).optional().describe('Token usage (gpt-image models), as the service returned it.'),
  })
  .describe('The images, in the Azure OpenAI response shape.');

export const azureError = z
  .object({
    error: z
      .object({
        code: z.string().describe("The error's code."),
        message: z.string().describe('What went wrong, naming the field when a field is at fault.'),
        param: z.string().optional().describe('The field at fault.'),
        type: z.string().optional().describe('The kind of error.'),
        inner_error: z.looseObject({}).optional().describe("The service's details, such as content filter results."),
      })
      .describe('The error.'),
  })
  .describe("An error, in Azure's shape.");

export const jobId = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    'must be 1 to 64 letters, digits, ., - or _, starting with a letter or digit',
  )
  .describe('The job id; the same id is never generated twice.');

export const jobStatus = z
  .enum(['notStarted', 'running', 'succeeded', 'failed'])
  .describe('Where the job is: notStarted, running, succeeded or failed.');

export const job = z
  .object({
    id: jobId,
    status: jobStatus,
    created: z.number().int().describe('When the job was accepted, in Unix seconds.'),
    result: imagesResponse.optional().describe('When succeeded: the same body the synchronous call answers.'),
    error: azureError.shape.error.optional().describe('When failed: why.'),
  })
  .describe('An image job.');

export const jobAccepted = z.object({ id: jobId, status: jobStatus }).describe('An accepted job.');

/** How a job ended: the message on its result queue, and the body of its webhooks. */
export const jobEvent = z
  .object({
    id: jobId,
    status: z.enum(['succeeded', 'failed']).describe('How the job ended.'),
    data: z.array(imageData).optional().describe('When succeeded: the images, with durable URLs.'),
    error: azureError.shape.error.optional().describe('When failed: why, as the synchronous call would have answered.'),
  })
  .describe('An image job that has ended.');

/** A webhook subscription: for one job it starts (`request`), or for every job that ends. */
export const subscriptionRequest = z
  .strictObject({
    callback_url: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe(
        "Where to POST when an image job ends: the connector's trigger fills it; an x-ms-notification-url header (Logic Apps' HTTP Webhook) takes its place.",
      ),
    request: imageGenerationBody
      .optional()
      .describe('A generation to run: its end is delivered to the callback once, and the subscription ends with it.'),
    model: z.string().optional().describe('Without a request: only jobs served by this model.'),
    status: z.enum(['succeeded', 'failed']).optional().describe('Without a request: only jobs that ended this way.'),
  })
  .describe('A subscription to image jobs that end.');

export const subscription = z
  .object({
    id: z.string().describe('The subscription id.'),
    callback: z.string().describe('The callback URL, without its query string (which may hold a signature).'),
    job_id: jobId.optional().describe('The job this subscription is for, when it is for one.'),
    model: z.string().optional().describe('Only jobs served by this model.'),
    status: z.enum(['succeeded', 'failed']).optional().describe('Only jobs that ended this way.'),
    created: z.number().int().describe('Unix seconds.'),
    delivered: z.number().int().describe('Deliveries the receiver took.'),
    undeliverable: z.number().int().describe('Deliveries given up on after their retries.'),
    last_error: z.string().optional().describe('Why the last undeliverable delivery failed.'),
  })
  .describe('A webhook subscription.');
/** POST /api/images/estimate's answer. */
export const estimateAnswer = z.object({
  caller: z.string().describe('Who would spend it.'),
  requested_model: z.string().describe("The model the request names, or its deployment's."),
  served: z
    .object({
      model: z.string().describe('The model that would serve it.'),
      deployment: z.string().describe('The deployment that would serve it.'),
      params: z.looseObject({}).describe('The parameters the serving model would get (the prompt left out).'),
    })
    .describe("What would serve the request: a retired model's request is served by its successor."),
  estimate: z
    .looseObject({
      usd: z
        .number()
        .optional()
        .describe('The most the request can cost: what is held on the budgets before the call.'),
      basis: z
        .enum(['table', 'default'])
        .optional()
        .describe(
          "Where the figure comes from: the price table, or (no price, ALLOW_UNPRICED_MODELS) the operator's default estimate per image.",
        ),
      unpriced: z
        .literal(true)
        .optional()
        .describe('The price table has no price for the model or size: never counted as free.'),
      table_version: z.string().describe("The price table's version."),
    })
    .describe(
      'From the price table: `auto` sizes and qualities are priced at the dearest they can become, and the prompt at its UTF-8 bytes.',
    ),
});

/** GET /api/usage's answer. */
export const usageAnswer = z.object({
  from: z.string().describe('The first UTC day counted (YYYY-MM-DD).'),
  to: z.string().describe('The last UTC day counted (YYYY-MM-DD).'),
  caller: z.string().optional().describe('The one caller counted, when asked for.'),
  group_by: z.array(z.enum(['day', 'caller', 'model'])).describe('What each row is a total of.'),
  data: z
    .array(
      z.object({
        day: z.string().optional().describe('The UTC day (YYYY-MM-DD), when grouped by day.'),
        caller: z.string().optional().describe('The caller, when grouped by caller.'),
        model: z.string().optional().describe('The serving model, when grouped by model.'),
        requests: z.int().describe('Requests served.'),
        images: z.int().describe('Images made.'),
        usd: z.number().describe('What they cost, in USD.'),
        unpriced_images: z.int().describe('Images of models the price table has no price for: not in usd.'),
      }),
    )
    .describe('One row per group.'),
});

export type ImageData = z.infer<typeof imageData>;
export type ImagesResponse = z.infer<typeof imagesResponse>;
export type Job = z.infer<typeof job>;
export type JobStatus = z.infer<typeof jobStatus>;
export type JobEvent = z.infer<typeof jobEvent>;
export type AzureErrorBody = z.infer<typeof azureError>;
