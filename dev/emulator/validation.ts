// Checks an images/generations body against the deployment's model rules (src/lib/models.ts),
// answering the way the service does: a 400 that names the offending parameter.

import { MODELS, type ModelName, type ModelRules } from './models.js';
import { invalidRequest, unparsableBody } from './errors.js';
import type { ImageFormat } from './images.js';

export interface GenerationRequest {
  prompt: string;
  n: number;
  /** As asked (`auto` included); `width`/`height` are what gets rendered. */
  size: string;
  width: number;
  height: number;
  quality: string;
  style?: string;
  responseFormat: 'url' | 'b64_json';
  outputFormat: ImageFormat;
  outputCompression?: number;
  background?: string;
  user?: string;
}

/** gpt-image's `auto` size renders as a square. */
const AUTO_SIZE = '1024x1024';

export function parseJsonBody(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw unparsableBody();
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw unparsableBody();
  return value as Record<string, unknown>;
}

export function validateGeneration(body: Record<string, unknown>, model: ModelName): GenerationRequest {
  const rules: ModelRules = MODELS[model];
  const prompt = readPrompt(body, rules);
  const n = readN(body, rules);
  const size = readChoice(body, 'size', rules.sizes) ?? rules.defaultSize;
  const [width, height] = parseSize(size === 'auto' ? AUTO_SIZE : size);
  const quality = readChoice(body, 'quality', rules.qualities) ?? rules.defaultQuality;
  const style = readModelOnly(body, 'style', rules.styles, model) ?? rules.defaultStyle;
  const responseFormat = readModelOnly(body, 'response_format', rules.responseFormats, model) ?? 'url';
  const outputFormat = (readModelOnly(body, 'output_format', rules.outputFormats, model) ?? 'png') as ImageFormat;
  const outputCompression = readCompression(body, rules, model, outputFormat);
  const background = readModelOnly(body, 'background', rules.backgrounds, model);
  if (background === 'transparent' && outputFormat === 'jpeg') {
    throw invalidRequest("Invalid 'background': 'transparent' needs output_format 'png'; JPEG has no transparency.", 'background', 'invalid_value');
  }
  const user = readString(body, 'user');
  readString(body, 'model'); // accepted; the deployment already names the model
  return {
    prompt,
    n,
    size,
    width,
    height,
    quality,
    style,
    // gpt-image models always answer b64_json.
    responseFormat: rules.responseFormats ? responseFormat : 'b64_json',
    outputFormat,
    outputCompression,
    background: rules.backgrounds ? (background ?? 'auto') : undefined,
    user,
  };
}

/** A field's value, treating JSON null like an absent field (the SDKs send either). */
function present(body: Record<string, unknown>, field: string): unknown {
  const value = body[field];
  return value === null ? undefined : value;
}

function readString(body: Record<string, unknown>, field: string): string | undefined {
  const value = present(body, field);
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    throw invalidRequest(`Invalid type for '${field}': expected a string, but got ${describe(value)} instead.`, field, 'invalid_type');
  }
  return value;
}

function readPrompt(body: Record<string, unknown>, rules: ModelRules): string {
  const prompt = readString(body, 'prompt');
  if (prompt === undefined) throw invalidRequest("Missing required parameter: 'prompt'.", 'prompt', 'missing_required_parameter');
  if (prompt.trim() === '') {
    throw invalidRequest("Invalid 'prompt': empty string. Expected a string with at least one non-blank character.", 'prompt', 'empty_string');
  }
  if (prompt.length > rules.promptMaxLength) {
    throw invalidRequest(
      `Invalid 'prompt': string too long. Expected a string with maximum length ${rules.promptMaxLength}, but got a string with length ${prompt.length} instead.`,
      'prompt',
      'string_above_max_length',
    );
  }
  return prompt;
}

function readN(body: Record<string, unknown>, rules: ModelRules): number {
  const n = present(body, 'n');
  if (n === undefined) return 1;
  if (typeof n !== 'number' || !Number.isInteger(n)) {
    throw invalidRequest(`Invalid type for 'n': expected an integer, but got ${describe(n)} instead.`, 'n', 'invalid_type');
  }
  if (n < 1) {
    throw invalidRequest(`Invalid 'n': integer below minimum value. Expected a value >= 1, but got ${n} instead.`, 'n', 'integer_below_min_value');
  }
  if (n > rules.n.max) {
    const message =
      rules.n.max === 1
        ? `Invalid 'n': you must provide n=1 for this model, but got ${n}.`
        : `Invalid 'n': integer above maximum value. Expected a value <= ${rules.n.max}, but got ${n} instead.`;
    throw invalidRequest(message, 'n', 'integer_above_max_value');
  }
  return n;
}

/** A string field that must be one of the model's values. */
function readChoice<T extends string>(body: Record<string, unknown>, field: string, allowed: readonly T[]): T | undefined {
  const value = readString(body, field);
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw invalidRequest(
      `Invalid '${field}': '${value}' is not supported by this model. Supported values are: ${allowed.map((a) => `'${a}'`).join(', ')}.`,
      field,
      'invalid_value',
    );
  }
  return value as T;
}

/** A field only some models take: the others reject it outright rather than ignore it. */
function readModelOnly<T extends string>(
  body: Record<string, unknown>,
  field: string,
  allowed: readonly T[] | undefined,
  model: ModelName,
): T | undefined {
  if (allowed) return readChoice(body, field, allowed);
  if (present(body, field) !== undefined) {
    throw invalidRequest(`Unknown parameter: '${field}'. It is not supported with model ${model}.`, field, 'unknown_parameter');
  }
  return undefined;
}

function readCompression(body: Record<string, unknown>, rules: ModelRules, model: ModelName, outputFormat: ImageFormat): number | undefined {
  const value = present(body, 'output_compression');
  if (value === undefined) return undefined;
  if (!rules.outputFormats) {
    throw invalidRequest(`Unknown parameter: 'output_compression'. It is not supported with model ${model}.`, 'output_compression', 'unknown_parameter');
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 100) {
    throw invalidRequest(
      `Invalid 'output_compression': expected an integer from 0 to 100, but got ${describe(value)}.`,
      'output_compression',
      'invalid_value',
    );
  }
  if (outputFormat !== 'jpeg') {
    throw invalidRequest(
      `Invalid 'output_compression': it is only supported with output_format 'jpeg', not '${outputFormat}'.`,
      'output_compression',
      'invalid_value',
    );
  }
  return value;
}

function parseSize(size: string): [number, number] {
  const [width, height] = size.split('x').map(Number);
  return [width, height];
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return `an ${typeof value}`;
}
