import { z } from 'zod';
import { DeploymentNotFoundError, fromZodIssues, InvalidRequestError, RequestTooLargeError } from './errors.js';
import { isJsonObject, type JsonObject } from './json.js';
import {
  isModelName,
  isRetired,
  MODELS,
  sizeProblem,
  type Deployments,
  type GenerationParams,
  type ModelName,
  type ModelRules,
} from './models.js';
import { serveOn } from './translate.js';

// The images request: its wire schema (types and the OpenAPI document come from here), the choice
// of deployment, and the per-model validation that runs before any quota is spent.

export const MAX_BODY_BYTES = 1024 * 1024;

const allRules: ModelRules[] = Object.values(MODELS).map((m) => m.rules);
const union = <K extends 'qualities' | 'styles' | 'outputFormats' | 'backgrounds'>(key: K) =>
  [...new Set(allRules.flatMap((r) => r[key] ?? []))] as [string, ...string[]];
const longestPrompt = Math.max(...allRules.map((r) => r.promptMaxLength));
const mostImages = Math.max(...allRules.map((r) => r.n.max));
const mostPartials = Math.max(...allRules.map((r) => r.partialImagesMax ?? 0));

/** Every field any model accepts: the body as documented. Per-model limits are narrower. */
export const imageGenerationBody = z.strictObject({
  prompt: z
    .string()
    .min(1)
    .max(longestPrompt)
    .describe('What to draw. At most 32000 characters (4000 for dall-e-3 requests).'),
  model: z
    .string()
    .optional()
    .describe(
      'A deployment of the app, or a model name (a retired one is served by its successor); the default deployment when absent.',
    ),
  n: z.int().min(1).max(mostImages).optional().describe('How many images: 1 to 10 (1 for dall-e-3 requests).'),
  size: z
    .string()
    .optional()
    .describe(
      'gpt-image-2: auto, or WIDTHxHEIGHT (edges multiples of 16, long edge at most 3840, aspect at most 3:1, 655,360 to 8,294,400 pixels). gpt-image-1.5 and -mini: 1024x1024, 1536x1024, 1024x1536, auto. dall-e-3: 1024x1024, 1792x1024, 1024x1792.',
    ),
  quality: z
    .enum(union('qualities'))
    .optional()
    .describe('low, medium, high (and auto, except gpt-image-2). dall-e-3 requests: standard, hd.'),
  style: z
    .enum(union('styles'))
    .optional()
    .describe('dall-e-3 requests only; kept in the record, not sent to the serving model.'),
  response_format: z
    .enum(['url', 'b64_json'])
    .optional()
    .describe('dall-e-3 requests only: b64_json adds the bytes inline; every answer has a durable url.'),
  output_format: z.enum(union('outputFormats')).optional().describe('gpt-image models: png or jpeg.'),
  output_compression: z
    .int()
    .min(0)
    .max(100)
    .optional()
    .describe('gpt-image models, with output_format jpeg: 0 to 100.'),
  background: z
    .enum(union('backgrounds'))
    .optional()
    .describe('gpt-image models: transparent (png only), opaque or auto.'),
  stream: z.boolean().optional().describe('gpt-image models: answer server-sent events, partial images first.'),
  partial_images: z
    .int()
    .min(0)
    .max(mostPartials)
    .optional()
    .describe('With stream: how many partial images to send before the final one, 0 to 3.'),
  user: z.string().max(256).optional().describe('An end-user id, recorded beside the image and passed to the service.'),
});

/** A validated request: what the caller asked, in its model's terms, and what the app sends to Azure. */
export interface ImageRequest {
  requested: { model: ModelName; params: GenerationParams };
  served: { deployment: string; model: ModelName; params: GenerationParams };
}

/** Reads a body as UTF-8 JSON holding an object. */
export function decodeJsonObject(bytes: Uint8Array): JsonObject {
  checkBodySize(bytes.byteLength);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InvalidRequestError('The request body is not valid UTF-8.');
  }
  if (text.trim() === '')
    throw new InvalidRequestError('The request body is empty; send a JSON object with a prompt.', 'prompt');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidRequestError(`The request body is not valid JSON: ${(err as Error).message}`);
  }
  if (!isJsonObject(value)) throw new InvalidRequestError('The request body must be a JSON object.');
  return value;
}

export function checkBodySize(bytes: number): void {
  if (bytes > MAX_BODY_BYTES) throw new RequestTooLargeError(MAX_BODY_BYTES);
}

/**
 * Picks the deployment (the path's, else the body's `model`, else the default) and validates the
 * body against the model the caller asked for. A retired model is asked for by name and served by
 * the successor deployment, translated.
 */
export function resolveRequest(body: JsonObject, deployments: Deployments, pathDeployment?: string): ImageRequest {
  const target = pickTarget(body.model, deployments, pathDeployment);
  const model = target.requestedModel;
  const parsed = schemas[model].safeParse(body);
  if (!parsed.success) throw fromZodIssues(parsed.error.issues, model);
  const { model: _named, ...params } = parsed.data as GenerationParams & { model?: string };
  const servedModel = deployments.AZURE_OPENAI_DEPLOYMENTS.get(target.deployment)!;
  return {
    requested: { model, params },
    served: {
      deployment: target.deployment,
      model: servedModel,
      params: model === servedModel ? params : serveOn(params, servedModel),
    },
  };
}

function pickTarget(
  named: unknown,
  config: Deployments,
  pathDeployment?: string,
): { deployment: string; requestedModel: ModelName } {
  const deployments = config.AZURE_OPENAI_DEPLOYMENTS;
  const on = (deployment: string) => ({ deployment, requestedModel: deployments.get(deployment)! });
  const successor = (model: ModelName) => ({
    deployment: config.AZURE_OPENAI_SUCCESSOR_DEPLOYMENT,
    requestedModel: model,
  });
  if (pathDeployment !== undefined) {
    if (deployments.has(pathDeployment)) return on(pathDeployment);
    if (isModelName(pathDeployment) && isRetired(pathDeployment)) return successor(pathDeployment);
    throw new DeploymentNotFoundError(pathDeployment);
  }
  if (named === undefined) return on(config.AZURE_OPENAI_DEFAULT_DEPLOYMENT);
  if (typeof named !== 'string')
    throw new InvalidRequestError("Invalid value for 'model': expected a string.", 'model');
  if (deployments.has(named)) return on(named);
  for (const [deployment, model] of deployments) if (model === named) return on(deployment);
  if (isModelName(named) && isRetired(named)) return successor(named);
  const known = [...deployments.keys()].join(', ');
  throw new InvalidRequestError(
    `Invalid value for 'model': '${named}' is not a deployment of this app (${known}).`,
    'model',
  );
}

function schemaFor(model: ModelRules) {
  return z
    .strictObject({
      prompt: z
        .string()
        .refine((p) => p.trim().length > 0, 'must not be blank')
        // UTF-16 units: the stricter of the ways to count, so the service never refuses a prompt we passed.
        .refine(
          (p) => p.length <= model.promptMaxLength,
          `must be at most ${model.promptMaxLength} characters for this model`,
        ),
      model: z.string().optional(),
      n: z.int().min(1).max(model.n.max).default(1),
      size: z.string().default(model.defaultSize),
      quality: model.defaultQuality
        ? z.enum(model.qualities).default(model.defaultQuality)
        : z.enum(model.qualities).optional(),
      user: z.string().max(256).optional(),
      ...(model.styles && { style: z.enum(model.styles).default(model.defaultStyle!) }),
      ...(model.responseFormats && { response_format: z.enum(model.responseFormats).default('url') }),
      ...(model.outputFormats && {
        output_format: z.enum(model.outputFormats).default(model.outputFormats[0]),
        output_compression: z.int().min(0).max(100).optional(),
      }),
      ...(model.backgrounds && { background: z.enum(model.backgrounds).default('auto') }),
      ...(model.partialImagesMax !== undefined && {
        stream: z.boolean().optional(),
        partial_images: z.int().min(0).max(model.partialImagesMax).optional(),
      }),
    })
    .superRefine((body: Record<string, unknown>, ctx) => {
      const problem = sizeProblem(model, body.size as string);
      if (problem) ctx.addIssue({ code: 'custom', path: ['size'], message: problem });
      if (body.output_compression !== undefined && body.output_format !== 'jpeg') {
        ctx.addIssue({
          code: 'custom',
          path: ['output_compression'],
          message: 'is only accepted with output_format jpeg',
        });
      }
      if (body.background === 'transparent' && body.output_format === 'jpeg') {
        ctx.addIssue({ code: 'custom', path: ['background'], message: 'transparent needs output_format png' });
      }
      if (body.partial_images !== undefined && body.stream !== true) {
        ctx.addIssue({ code: 'custom', path: ['partial_images'], message: 'is only accepted with stream true' });
      }
    });
}

const schemas = Object.fromEntries(Object.entries(MODELS).map(([name, m]) => [name, schemaFor(m.rules)])) as Record<
  ModelName,
  ReturnType<typeof schemaFor>
>;

/** The body one model accepts, as JSON Schema: what a connector offers for a chosen deployment. */
export const modelBodySchema = (model: ModelName) =>
  z.toJSONSchema(schemas[model], { target: 'draft-7', unrepresentable: 'any', io: 'input' });
