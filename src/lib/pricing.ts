import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { JsonObject } from './json.js';
import { CURRENT_MODELS, isModelName, isRetired, type GenerationParams, type ModelName } from './models.js';
import shipped from './prices.json';

// What an image costs. The price table is configuration (prices.json, or PRICE_TABLE): USD per 1M
// tokens by kind, and image output tokens per size and quality. Before a call the estimate is the
// most the request can cost; after it, the cost comes from the service's `usage`, or from the table
// where the answer has none. Amounts are whole nano-USD, so that sums are exact.

const QUALITIES = ['low', 'medium', 'high'] as const;
type Quality = (typeof QUALITIES)[number];
const SIZE = /^([1-9]\d{0,4})x([1-9]\d{0,4})$/;

const tokens = z.int().positive();
const modelPrice = z
  .strictObject({
    /** Where each figure comes from, for whoever checks it. */
    source: z.string().min(1),
    date: z.iso.date(),
    usd_per_million_tokens: z.strictObject({ text_input: z.number().min(0), image_input: z.number().min(0), image_output: z.number().positive() }),
    output_tokens: z
      .record(z.string().regex(SIZE, 'must be WIDTHxHEIGHT'), z.strictObject({ low: tokens, medium: tokens, high: tokens }))
      .refine((sizes) => Object.keys(sizes).length > 0, 'must list at least one size'),
    /** Sizes not listed: this size's tokens scaled by pixel area (gpt-image-2 makes any size). */
    scale_other_sizes_from: z.string().optional(),
  })
  .superRefine((price, ctx) => {
    const from = price.scale_other_sizes_from;
    if (from !== undefined && !Object.hasOwn(price.output_tokens, from)) {
      ctx.addIssue({ code: 'custom', path: ['scale_other_sizes_from'], message: 'must be one of the sizes in output_tokens' });
    }
  });

const priceTableSchema = z.strictObject({
  version: z.string().min(1),
  description: z.string().optional(),
  models: z.record(z.string(), modelPrice).superRefine((models, ctx) => {
    for (const name of Object.keys(models)) {
      if (!isModelName(name) || isRetired(name)) ctx.addIssue({ code: 'custom', path: [name], message: `is not a model this app serves (${CURRENT_MODELS.join(', ')})` });
    }
  }),
});

type ModelPrice = z.infer<typeof modelPrice>;
export type PriceTable = Omit<z.infer<typeof priceTableSchema>, 'models'> & { models: Partial<Record<ModelName, ModelPrice>> };

export class PriceTableError extends Error {
  override name = 'PriceTableError';
}

/**
 * The price table a PRICE_TABLE setting names: its JSON, or the path of a JSON file; the shipped
 * table when unset. A malformed table throws a PriceTableError naming the entry at fault.
 */
export function loadPriceTable(setting: string | undefined): PriceTable {
  if (setting === undefined) return parsePriceTable(shipped);
  let text = setting;
  if (!setting.startsWith('{')) {
    try {
      text = readFileSync(setting, 'utf8');
    } catch (err) {
      throw new PriceTableError(`cannot read the file ${setting}: ${(err as Error).message}`);
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new PriceTableError(`is not valid JSON: ${(err as Error).message}`);
  }
  return parsePriceTable(json);
}

function parsePriceTable(json: unknown): PriceTable {
  const parsed = priceTableSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const entry = issue.path.map(String).join('.') || 'the table';
  throw new PriceTableError(`${entry}: ${issue.message}`);
}

/** Why a request or image has no price: never counted as free. */
export interface Unpriced {
  unpriced: true;
  reason: string;
}

export interface Estimate {
  nanoUsd: number;
  images: number;
  /** The size and quality priced: for `auto`, the dearest the table lists. */
  size: string;
  quality: Quality;
  outputTokensPerImage: number;
  /** The prompt's UTF-8 bytes: a prompt has at most as many tokens. */
  promptTokensAtMost: number;
}

export type Cost = { basis: 'usage' | 'table'; nanoUsd: number; tableVersion: string } | ({ basis: 'unpriced'; tableVersion: string } & Unpriced);

/** What the service says it made: the size and quality an `auto` became. */
interface Made {
  size?: string;
  quality?: string;
}

export class Prices {
  constructor(readonly table: PriceTable) {}

  get version(): string {
    return this.table.version;
  }

  /** The most a request can cost, before anything is spent: `auto` is priced at the dearest it can become. */
  estimate(model: ModelName, params: GenerationParams): Estimate | Unpriced {
    const price = this.table.models[model];
    if (!price) return this.unpriced(model);
    const quality = qualityOf(params.quality) ?? 'high';
    const priced = this.outputTokens(price, isSize(params.size) ? params.size : undefined, quality);
    if (!priced) return { unpriced: true, reason: `the price table ${this.version} has no output tokens for ${model} at ${params.size}` };
    const promptTokensAtMost = Buffer.byteLength(params.prompt, 'utf8');
    const rates = price.usd_per_million_tokens;
    return {
      nanoUsd: nano(promptTokensAtMost * rates.text_input + params.n * priced.tokens * rates.image_output),
      images: params.n,
      size: priced.size,
      quality,
      outputTokensPerImage: priced.tokens,
      promptTokensAtMost,
    };
  }

  /**
   * What a generation of `images` images cost: from the service's usage when the answer has it;
   * else from the table at what the service says it made (else at what was asked, else as estimated).
   */
  cost(model: ModelName, generation: { usage?: JsonObject; output: Made; params: GenerationParams; images: number }): Cost {
    const price = this.table.models[model];
    if (!price) return { basis: 'unpriced', tableVersion: this.version, ...this.unpriced(model) };
    const rates = price.usd_per_million_tokens;
    const used = usageTokens(generation.usage);
    if (used) {
      return { basis: 'usage', tableVersion: this.version, nanoUsd: nano(used.text * rates.text_input + used.image * rates.image_input + used.output * rates.image_output) };
    }
    const size = [generation.output.size, generation.params.size].find(isSize);
    const quality = qualityOf(generation.output.quality) ?? qualityOf(generation.params.quality) ?? 'high';
    const priced = this.outputTokens(price, size, quality);
    if (!priced) return { basis: 'unpriced', tableVersion: this.version, unpriced: true, reason: `the price table ${this.version} has no output tokens for ${model} at ${size}` };
    const promptTokens = Buffer.byteLength(generation.params.prompt, 'utf8');
    return { basis: 'table', tableVersion: this.version, nanoUsd: nano(promptTokens * rates.text_input + generation.images * priced.tokens * rates.image_output) };
  }

  private unpriced(model: ModelName): Unpriced {
    return { unpriced: true, reason: `the price table ${this.version} has no price for ${model}` };
  }

  /** Output tokens of one image: a listed size, one scaled by area, or (size unknown) the dearest listed. */
  private outputTokens(price: ModelPrice, size: string | undefined, quality: Quality): { size: string; tokens: number } | undefined {
    const listed = Object.entries(price.output_tokens);
    if (size === undefined) {
      const [dearest, row] = listed.reduce((a, b) => (b[1][quality] > a[1][quality] ? b : a));
      return { size: dearest, tokens: row[quality] };
    }
    const row = price.output_tokens[size];
    if (row) return { size, tokens: row[quality] };
    const from = price.scale_other_sizes_from;
    if (from === undefined) return undefined;
    return { size, tokens: Math.ceil((price.output_tokens[from][quality] * pixels(size)) / pixels(from)) };
  }
}

/** USD per 1M tokens, times tokens, as whole nano-USD (1e-9 USD). */
const nano = (usdPerMillionTimesTokens: number) => Math.round(usdPerMillionTimesTokens * 1000);

export const usd = (nanoUsd: number): number => nanoUsd / 1e9;

/** An amount for people to read: `$0.002186`, to the millionth of a dollar. */
export const usdText = (nanoUsd: number): string => `$${usd(nanoUsd).toFixed(6).replace(/\.?0+$/, '')}`;

const isSize = (size: unknown): size is string => typeof size === 'string' && SIZE.test(size);

function pixels(size: string): number {
  const [, width, height] = SIZE.exec(size)!;
  return Number(width) * Number(height);
}

const qualityOf = (quality: unknown): Quality | undefined => (QUALITIES as readonly unknown[]).includes(quality) ? (quality as Quality) : undefined;

/** Tokens by kind from a usage object; undefined when it says nothing usable of the output. */
function usageTokens(usage: JsonObject | undefined): { text: number; image: number; output: number } | undefined {
  const count = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined);
  const output = count(usage?.output_tokens);
  if (output === undefined) return undefined;
  const details = (usage?.input_tokens_details ?? {}) as JsonObject;
  const image = count(details.image_tokens) ?? 0;
  const text = count(details.text_tokens) ?? Math.max(0, (count(usage?.input_tokens) ?? 0) - image);
  return { text, image, output };
}

/** A cost as records and answers show it; `images` share a generation's cost alike. */
export function costJson(cost: Cost, images = 1): JsonObject {
  if (cost.basis === 'unpriced') return { unpriced: true, reason: cost.reason, table_version: cost.tableVersion };
  return { usd: usd(Math.round(cost.nanoUsd / Math.max(1, images))), ...(images > 1 && { generation_usd: usd(cost.nanoUsd) }), basis: cost.basis, table_version: cost.tableVersion };
}

/** An estimate as the estimate route answers it. */
export function estimateJson(estimate: Estimate | Unpriced, tableVersion: string): JsonObject {
  if ('unpriced' in estimate) return { unpriced: true, reason: estimate.reason, table_version: tableVersion };
  return {
    usd: usd(estimate.nanoUsd),
    basis: 'table',
    table_version: tableVersion,
    images: estimate.images,
    size: estimate.size,
    quality: estimate.quality,
    output_tokens_per_image: estimate.outputTokensPerImage,
    prompt_tokens_at_most: estimate.promptTokensAtMost,
  };
}
