import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { JsonObject } from '../core/json.js';
import { CURRENT_MODELS, isModelName, isRetired, type GenerationParams, type ModelName } from '../core/models.js';
import shipped from './prices.json';

// What an image costs. The price table is configuration (prices.json, or PRICE_TABLE), each model
// billed one of two ways: per token (USD per 1M tokens by kind; an image's output tokens from a table
// by size and quality, or from a named formula), or per image (USD by size and quality, DALL·E
// style). Before a call the estimate is the most the request can cost; after it, the cost comes from
// the service's `usage`, or from the table where the answer has none. Amounts are whole nano-USD, so
// that sums are exact.

const QUALITIES = ['low', 'medium', 'high'] as const;
type Quality = (typeof QUALITIES)[number];
const SIZE = /^([1-9]\d{0,4})x([1-9]\d{0,4})$/;

const tokens = z.int().positive();
const size = z.string().regex(SIZE, 'must be WIDTHxHEIGHT');
const byQuality = <T extends z.ZodType>(value: T) => z.strictObject({ low: value, medium: value, high: value });
const bySize = <T extends z.ZodType>(row: T) => z.record(size, row).refine((sizes) => Object.keys(sizes).length > 0, 'must list at least one size');

/** Output tokens by the formula behind OpenAI's price calculator (gpt-image-2): any size, no table. */
const tokenFormula = z.strictObject({
  name: z.literal(['openai-image-calculator']),
  /** q per quality: s = round(q × short edge / long edge); tokens = ceil(q × s × (2,000,000 + W × H) / 4,000,000). */
  quality_factor: byQuality(z.number().positive()),
});

const described = {
  /** Where each figure comes from, for whoever checks it. */
  source: z.string().min(1),
  date: z.iso.date(),
  /** The sizes `auto` may become: it is estimated at the dearest. Default: every size listed. */
  auto_sizes: z.array(size).min(1).optional(),
};

const perToken = z
  .strictObject({
    ...described,
    billing: z.literal('per_token'),
    usd_per_million_tokens: z.strictObject({ text_input: z.number().min(0), image_input: z.number().min(0), image_output: z.number().positive() }),
    output_tokens: bySize(byQuality(tokens)).optional(),
    output_tokens_formula: tokenFormula.optional(),
    scale_other_sizes_from: z.undefined({ error: 'is no longer taken: scaling by pixel area overestimates gpt-image-2 2 to 4 times; give output_tokens_formula instead' }).optional(),
  })
  .superRefine((price, ctx) => {
    const ways = [price.output_tokens, price.output_tokens_formula].filter((w) => w !== undefined).length;
    if (ways !== 1) ctx.addIssue({ code: 'custom', path: ['output_tokens'], message: 'give either output_tokens (a table by size) or output_tokens_formula, exactly one' });
    if (price.output_tokens_formula && !price.auto_sizes) ctx.addIssue({ code: 'custom', path: ['auto_sizes'], message: "must list the sizes 'auto' may become when output tokens come from a formula" });
  });

const perImage = z.strictObject({
  ...described,
  billing: z.literal('per_image'),
  usd_per_image: bySize(byQuality(z.number().positive())),
});

/** `billing` defaults to per_token: tables written before it existed still load. */
const modelPrice = z.preprocess(
  (value) => (typeof value === 'object' && value !== null && !Array.isArray(value) && !('billing' in value) ? { ...value, billing: 'per_token' } : value),
  z.discriminatedUnion('billing', [perToken, perImage]),
);

const priceTableSchema = z.strictObject({
  version: z.string().min(1),
  description: z.string().optional(),
  models: z.record(z.string(), modelPrice).superRefine((models, ctx) => {
    for (const name of Object.keys(models)) {
      if (!isModelName(name) || isRetired(name)) ctx.addIssue({ code: 'custom', path: [name], message: `is not a model this app serves (${CURRENT_MODELS.join(', ')})` });
    }
  }),
});

type ModelPrice = z.infer<typeof perToken> | z.infer<typeof perImage>;
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
  /** What is missing: the model's price, or its price at this size. */
  missing: 'model' | 'size';
}

export interface Estimate {
  nanoUsd: number;
  images: number;
  /** The size and quality priced: for `auto`, the dearest it can become. */
  size: string;
  quality: Quality;
  /** Per-token models only. */
  outputTokensPerImage?: number;
  /** The prompt's UTF-8 bytes: a prompt has at most as many tokens. */
  promptTokensAtMost: number;
}

export type Cost = { basis: 'usage' | 'table'; nanoUsd: number; tableVersion: string } | ({ basis: 'unpriced'; tableVersion: string } & Unpriced);

/** What the service says it made: the size and quality an `auto` became. */
interface Made {
  size?: string;
  quality?: string;
}

/** One image at one size and quality: its output tokens (per-token models) and what they cost. */
interface ImagePrice {
  size: string;
  nanoUsd: number;
  tokens?: number;
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
    const image = imagePrice(price, isSize(params.size) ? params.size : undefined, quality);
    if (!image) return this.unpriced(model, params.size);
    const promptTokensAtMost = Buffer.byteLength(params.prompt, 'utf8');
    return {
      nanoUsd: promptNano(price, promptTokensAtMost) + params.n * image.nanoUsd,
      images: params.n,
      size: image.size,
      quality,
      ...(image.tokens !== undefined && { outputTokensPerImage: image.tokens }),
      promptTokensAtMost,
    };
  }

  /**
   * What a generation of `images` images cost: from the service's usage when the answer has it (per
   * token); else from the table at what the service says it made (else at what was asked, else as estimated).
   */
  cost(model: ModelName, generation: { usage?: JsonObject; output: Made; params: GenerationParams; images: number }): Cost {
    const price = this.table.models[model];
    if (!price) return { basis: 'unpriced', tableVersion: this.version, ...this.unpriced(model) };
    const used = price.billing === 'per_token' ? usageTokens(generation.usage) : undefined;
    if (price.billing === 'per_token' && used) {
      const rates = price.usd_per_million_tokens;
      return { basis: 'usage', tableVersion: this.version, nanoUsd: nano(used.text * rates.text_input + used.image * rates.image_input + used.output * rates.image_output) };
    }
    const size = [generation.output.size, generation.params.size].find(isSize);
    const quality = qualityOf(generation.output.quality) ?? qualityOf(generation.params.quality) ?? 'high';
    const image = imagePrice(price, size, quality);
    if (!image) return { basis: 'unpriced', tableVersion: this.version, ...this.unpriced(model, size) };
    const promptTokens = Buffer.byteLength(generation.params.prompt, 'utf8');
    return { basis: 'table', tableVersion: this.version, nanoUsd: promptNano(price, promptTokens) + generation.images * image.nanoUsd };
  }

  private unpriced(model: ModelName, size?: string): Unpriced {
    if (size === undefined) return { unpriced: true, missing: 'model', reason: `the price table ${this.version} has no price for ${model}` };
    return { unpriced: true, missing: 'size', reason: `the price table ${this.version} has no price for ${model} at ${size}` };
  }
}

/** One image's price at a size (undefined: `auto`, priced at the dearest size it may become). */
function imagePrice(price: ModelPrice, size: string | undefined, quality: Quality): ImagePrice | undefined {
  if (size === undefined) {
    const candidates = (price.auto_sizes ?? listedSizes(price)).map((s) => imagePrice(price, s, quality));
    return candidates.reduce<ImagePrice | undefined>((dearest, c) => (c && (!dearest || c.nanoUsd > dearest.nanoUsd) ? c : dearest), undefined);
  }
  if (price.billing === 'per_image') {
    const usdPerImage = price.usd_per_image[size]?.[quality];
    return usdPerImage === undefined ? undefined : { size, nanoUsd: Math.round(usdPerImage * 1e9) };
  }
  const tokens = price.output_tokens_formula ? calculatorTokens(size, price.output_tokens_formula.quality_factor[quality]) : price.output_tokens?.[size]?.[quality];
  return tokens === undefined ? undefined : { size, tokens, nanoUsd: nano(tokens * price.usd_per_million_tokens.image_output) };
}

const listedSizes = (price: ModelPrice) => Object.keys(price.billing === 'per_image' ? price.usd_per_image : (price.output_tokens ?? {}));

/** The prompt's text tokens at the text rate; a per-image price has none. */
const promptNano = (price: ModelPrice, promptTokens: number) => (price.billing === 'per_token' ? nano(promptTokens * price.usd_per_million_tokens.text_input) : 0);

/**
 * Output tokens of one image by the formula behind OpenAI's price calculator (docs/azure-openai-contract.md):
 * s = round(q × short / long); tokens = ceil(q × s × (2,000,000 + W × H) / 4,000,000).
 * Math.round rounds halves up, as the calculator (JavaScript) does.
 */
function calculatorTokens(size: string, qualityFactor: number): number {
  const [, w, h] = SIZE.exec(size)!;
  const [width, height] = [Number(w), Number(h)];
  const s = Math.round((qualityFactor * Math.min(width, height)) / Math.max(width, height));
  return Math.ceil((qualityFactor * s * (2_000_000 + width * height)) / 4_000_000);
}

/** USD per 1M tokens, times tokens, as whole nano-USD (1e-9 USD). */
const nano = (usdPerMillionTimesTokens: number) => Math.round(usdPerMillionTimesTokens * 1000);

export const usd = (nanoUsd: number): number => nanoUsd / 1e9;

/** An amount for people to read: `$0.002186`, to the millionth of a dollar. */
export const usdText = (nanoUsd: number): string => `$${usd(nanoUsd).toFixed(6).replace(/\.?0+$/, '')}`;

const isSize = (size: unknown): size is string => typeof size === 'string' && SIZE.test(size);

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

/** A request the table cannot price, admitted by ALLOW_UNPRICED_MODELS: held at the operator's default estimate per image. */
export interface DefaultEstimate extends Unpriced {
  nanoUsd: number;
  images: number;
}

/** An estimate as the estimate route answers it. */
export function estimateJson(estimate: Estimate | Unpriced | DefaultEstimate, tableVersion: string): JsonObject {
  if ('unpriced' in estimate) {
    return { unpriced: true, reason: estimate.reason, table_version: tableVersion, ...('nanoUsd' in estimate && { usd: usd(estimate.nanoUsd), basis: 'default', images: estimate.images }) };
  }
  return {
    usd: usd(estimate.nanoUsd),
    basis: 'table',
    table_version: tableVersion,
    images: estimate.images,
    size: estimate.size,
    quality: estimate.quality,
    ...(estimate.outputTokensPerImage !== undefined && { output_tokens_per_image: estimate.outputTokensPerImage }),
    prompt_tokens_at_most: estimate.promptTokensAtMost,
  };
}
