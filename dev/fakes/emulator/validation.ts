// Checks an images/generations body against the deployment's model (models.ts) and says what will
// be made, or answers the way the service does: a 400 that names the offending parameter.

import { invalidRequest, unparsableBody } from './errors.js';
import {
  AUTO_QUALITY,
  AUTO_SIZE,
  BACKGROUNDS,
  DEFAULT_COMPRESSION,
  MAX_IMAGES,
  MAX_PARTIAL_IMAGES,
  MODELS,
  OUTPUT_FORMATS,
  PROMPT_MAX_LENGTH,
  REFUSED_FIELDS,
  type ModelName,
  type OutputFormat,
  type Quality,
} from './models.js';

/** What the service will make for a valid request: `auto` resolved, defaults applied. */
export interface Generation {
  model: ModelName;
  prompt: string;
  n: number;
  width: number;
  height: number;
  quality: Quality;
  outputFormat: OutputFormat;
  /** JPEG quality 0..100 (output_compression). */
  compression: number;
  background: 'transparent' | 'opaque';
  stream: boolean;
  /** Partial images per image before the final one; 0 unless streaming. */
  partialImages: number;
  /** What each image costs, from the model's rules. */
  outputTokensPerImage: number;
}

type Body = Record<string, unknown>;

export function parseJsonBody(text: string): Body {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw unparsableBody();
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw unparsableBody();
  return value as Body;
}

export function validateGeneration(body: Body, model: ModelName): Generation {
  const rules = MODELS[model];
  for (const field of REFUSED_FIELDS) {
    if (present(body, field) !== undefined) {
      throw invalidRequest(
        `Unknown parameter: '${field}'. It is not supported with model ${model}.`,
        field,
        'unknown_parameter',
      );
    }
  }
  const prompt = readPrompt(body);
  const n = readInteger(body, 'n', 1, MAX_IMAGES) ?? 1;
  const { width, height } = readSize(body, model);
  const quality = readChoice(body, 'quality', rules.qualities) ?? rules.defaultQuality;
  const outputFormat = readChoice(body, 'output_format', OUTPUT_FORMATS) ?? 'png';
  const compression = readInteger(body, 'output_compression', 0, 100);
  if (compression !== undefined && outputFormat !== 'jpeg') {
    throw invalidRequest(
      `Invalid 'output_compression': it is only supported with output_format 'jpeg', not '${outputFormat}'.`,
      'output_compression',
      'invalid_value',
    );
  }
  const background = readChoice(body, 'background', BACKGROUNDS) ?? 'auto';
  if (background === 'transparent' && outputFormat !== 'png') {
    throw invalidRequest(
      "Invalid 'background': 'transparent' needs output_format 'png'; JPEG has no transparency.",
      'background',
      'invalid_value',
    );
  }
  const stream = readBoolean(body, 'stream') ?? false;
  // Accepted without `stream` as well, and then ignored: the contract does not say the service refuses it.
  const partialImages = readInteger(body, 'partial_images', 0, MAX_PARTIAL_IMAGES) ?? 0;
  readString(body, 'user');
  readString(body, 'model'); // the deployment already names the model
  const madeQuality = quality === 'auto' ? AUTO_QUALITY : quality;
  return {
    model,
    prompt,
    n,
    width,
    height,
    quality: madeQuality,
    outputFormat,
    compression: compression ?? DEFAULT_COMPRESSION,
    background: background === 'transparent' ? 'transparent' : 'opaque',
    stream,
    partialImages: stream ? partialImages : 0,
    outputTokensPerImage: rules.outputTokens(width, height, madeQuality),
  };
}

/** A field's value, treating JSON null like an absent field (the SDKs send either). */
function present(body: Body, field: string): unknown {
  const value = body[field];
  return value === null ? undefined : value;
}

function readString(body: Body, field: string): string | undefined {
  const value = present(body, field);
  if (value === undefined) return undefined;
  if (typeof value !== 'string')
    throw invalidRequest(
      `Invalid type for '${field}': expected a string, but got ${describe(value)} instead.`,
      field,
      'invalid_type',
    );
  return value;
}

function readBoolean(body: Body, field: string): boolean | undefined {
  const value = present(body, field);
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean')
    throw invalidRequest(
      `Invalid type for '${field}': expected a boolean, but got ${describe(value)} instead.`,
      field,
      'invalid_type',
    );
  return value;
}

function readPrompt(body: Body): string {
  const prompt = readString(body, 'prompt');
  if (prompt === undefined)
    throw invalidRequest("Missing required parameter: 'prompt'.", 'prompt', 'missing_required_parameter');
  if (prompt.trim() === '')
    throw invalidRequest(
      "Invalid 'prompt': empty string. Expected a string with at least one non-blank character.",
      'prompt',
      'empty_string',
    );
  if (prompt.length > PROMPT_MAX_LENGTH) {
    throw invalidRequest(
      `Invalid 'prompt': string too long. Expected a string with maximum length ${PROMPT_MAX_LENGTH}, but got a string with length ${prompt.length} instead.`,
      'prompt',
      'string_above_max_length',
    );
  }
  return prompt;
}

function readInteger(body: Body, field: string, min: number, max: number): number | undefined {
  const value = present(body, field);
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw invalidRequest(
      `Invalid type for '${field}': expected an integer, but got ${describe(value)} instead.`,
      field,
      'invalid_type',
    );
  }
  if (value < min)
    throw invalidRequest(
      `Invalid '${field}': integer below minimum value. Expected a value >= ${min}, but got ${value} instead.`,
      field,
      'integer_below_min_value',
    );
  if (value > max)
    throw invalidRequest(
      `Invalid '${field}': integer above maximum value. Expected a value <= ${max}, but got ${value} instead.`,
      field,
      'integer_above_max_value',
    );
  return value;
}

/** A string field that must be one of `allowed`. */
function readChoice<T extends string>(body: Body, field: string, allowed: readonly T[]): T | undefined {
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

function readSize(body: Body, model: ModelName): { width: number; height: number } {
  const size = readString(body, 'size') ?? 'auto';
  if (size === 'auto') return AUTO_SIZE;
  const match = /^([1-9]\d{0,4})x([1-9]\d{0,4})$/.exec(size);
  const refusal = match
    ? MODELS[model].refuseSize(Number(match[1]), Number(match[2]))
    : "Expected 'auto' or WIDTHxHEIGHT in pixels, such as '1024x1024'.";
  if (refusal !== undefined)
    throw invalidRequest(`Invalid 'size': '${size}' is not supported by ${model}. ${refusal}`, 'size', 'invalid_value');
  return { width: Number(match![1]), height: Number(match![2]) };
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return `an ${typeof value}`;
}
