import { z } from 'zod';
import { ApiError, invalidRequest } from './errors.js';
import { MODELS, sizeProblem, type ModelName, type ModelRules } from './models.js';

// The images request body: its wire schema (types and the OpenAPI document come from here) and the
// per-model validation that runs before any quota is spent. Both are derived from the MODELS table.

export const MAX_BODY_BYTES = 1024 * 1024;

const rules: ModelRules[] = Object.values(MODELS).map((m) => m.rules);
const union = <K extends 'qualities' | 'styles' | 'outputFormats' | 'backgrounds'>(key: K) =>
  [...new Set(rules.flatMap((r) => r[key] ?? []))] as [string, ...string[]];
const longestPrompt = Math.max(...rules.map((r) => r.promptMaxLength));
const mostImages = Math.max(...rules.map((r) => r.n.max));

/** Code points, not UTF-16 units: an emoji is one character to the caller. */
const characters = (text: string) => [...text].length;

const prompt = (max: number) =>
  z
    .string()
    .refine((p) => p.trim().length > 0, 'must not be blank')
    .refine((p) => characters(p) <= max, `must be at most ${max} characters for this model`);

/** Every field any model accepts: the body as documented. Per-model limits are narrower. */
export const imageGenerationBody = z.strictObject({
  prompt: z.string().min(1).max(longestPrompt).describe('What to draw. At most 4000 characters for dall-e-3, 32000 for gpt-image models.'),
  model: z.string().optional().describe('A configured deployment name or model name; the default deployment when absent.'),
  n: z.int().min(1).max(mostImages).optional().describe('How many images: 1 for dall-e-3, 1 to 10 for gpt-image models.'),
  size: z.string().optional().describe('dall-e-3: 1024x1024, 1792x1024, 1024x1792. gpt-image: 1024x1024, 1536x1024, 1024x1536, auto.'),
  quality: z.enum(union('qualities')).optional().describe('dall-e-3: standard, hd. gpt-image: low, medium, high, auto.'),
  style: z.enum(union('styles')).optional().describe('dall-e-3 only.'),
  response_format: z.enum(['url', 'b64_json']).optional().describe('dall-e-3 only; gpt-image models always answer b64_json.'),
  output_format: z.enum(union('outputFormats')).optional().describe('gpt-image only.'),
  output_compression: z.int().min(0).max(100).optional().describe('gpt-image only, with output_format jpeg.'),
  background: z.enum(union('backgrounds')).optional().describe('gpt-image only.'),
  user: z.string().max(256).optional().describe('An end-user id, recorded beside the image and passed to the service.'),
});

export type ImageGenerationBody = z.infer<typeof imageGenerationBody>;

function schemaFor(model: ModelRules) {
  return z
    .strictObject({
      prompt: prompt(model.promptMaxLength),
      model: z.string().optional(),
      n: z.int().min(1).max(model.n.max).default(1),
      size: z.string().default(model.defaultSize),
      quality: z.enum(model.qualities).default(model.defaultQuality ?? model.qualities[0]),
      user: z.string().max(256).optional(),
      ...(model.styles && { style: z.enum(model.styles).default(model.defaultStyle!) }),
      ...(model.responseFormats && { response_format: z.enum(model.responseFormats).default('url') }),
      ...(model.outputFormats && {
        output_format: z.enum(model.outputFormats).default(model.outputFormats[0]),
        output_compression: z.int().min(0).max(100).optional(),
      }),
      ...(model.backgrounds && { background: z.enum(model.backgrounds).default('auto') }),
    })
    .superRefine((body: Record<string, unknown>, ctx) => {
      const size = sizeProblem(model, body.size as string);
      if (size) ctx.addIssue({ code: 'custom', path: ['size'], message: size });
      if (body.output_compression !== undefined && body.output_format !== 'jpeg') {
        ctx.addIssue({ code: 'custom', path: ['output_compression'], message: 'is only accepted with output_format jpeg' });
      }
      if (body.background === 'transparent' && body.output_format === 'jpeg') {
        ctx.addIssue({ code: 'custom', path: ['background'], message: 'transparent needs output_format png' });
      }
    });
}

const schemas = Object.fromEntries(Object.entries(MODELS).map(([name, m]) => [name, schemaFor(m.rules)])) as Record<
  ModelName,
  ReturnType<typeof schemaFor>
>;

/** A validated request, with every default filled in so the record says exactly what was asked. */
export interface ImageRequest {
  prompt: string;
  n: number;
  size: string;
  quality: string;
  style?: string;
  response_format?: 'url' | 'b64_json';
  output_format?: string;
  output_compression?: number;
  background?: string;
  user?: string;
}

export interface ResolvedRequest {
  deployment: string;
  model: ModelName;
  request: ImageRequest;
}

export interface Deployments {
  deployments: ReadonlyMap<string, ModelName>;
  defaultDeployment: string;
}

/** Reads a body as UTF-8 JSON holding an object; 413 past MAX_BODY_BYTES. */
export function decodeJsonObject(bytes: Uint8Array): Record<string, unknown> {
  if (bytes.byteLength > MAX_BODY_BYTES) {
    throw new ApiError(413, 'request_too_large', `The request body is larger than ${MAX_BODY_BYTES} bytes.`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalidRequest('The request body is not valid UTF-8.');
  }
  if (text.trim() === '') throw invalidRequest('The request body is empty; send a JSON object with a prompt.', 'prompt');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalidRequest(`The request body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidRequest('The request body must be a JSON object.');
  }
  return value as Record<string, unknown>;
}

/**
 * Picks the deployment (the path's, else the body's `model` as a deployment or model name, else the
 * default) and validates the body against that deployment's model.
 */
export function resolveRequest(body: Record<string, unknown>, config: Deployments, pathDeployment?: string): ResolvedRequest {
  const deployment = pickDeployment(body.model, config, pathDeployment);
  const model = config.deployments.get(deployment)!;
  const parsed = schemas[model].safeParse(body);
  if (!parsed.success) throw fromZodIssues(parsed.error.issues, model);
  const { model: _ignored, ...request } = parsed.data as ImageRequest & { model?: string };
  return { deployment, model, request };
}

function pickDeployment(model: unknown, config: Deployments, pathDeployment?: string): string {
  if (pathDeployment !== undefined) {
    if (!config.deployments.has(pathDeployment)) {
      throw new ApiError(404, 'DeploymentNotFound', `The API deployment '${pathDeployment}' does not exist on this app.`);
    }
    return pathDeployment;
  }
  if (model === undefined) return config.defaultDeployment;
  if (typeof model !== 'string') throw invalidRequest("Invalid value for 'model': expected a string.", 'model');
  if (config.deployments.has(model)) return model;
  for (const [deployment, deployedModel] of config.deployments) if (deployedModel === model) return deployment;
  const known = [...config.deployments.keys()].join(', ');
  throw invalidRequest(`Invalid value for 'model': '${model}' is not a deployment of this app (${known}).`, 'model');
}

function fromZodIssues(issues: z.core.$ZodIssue[], model: ModelName): ApiError {
  const described = issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const field = issue.keys[0]!;
      return { param: field, text: `Unknown field '${issue.keys.join("', '")}' for ${model}.` };
    }
    const field = issue.path.map(String).join('.') || 'body';
    const message = issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message;
    return { param: field, text: `Invalid value for '${field}': ${message} (model ${model}).` };
  });
  return invalidRequest(described.map((d) => d.text).join(' '), described[0]!.param);
}
