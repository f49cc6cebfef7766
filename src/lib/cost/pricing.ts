import type { JsonObject } from '../core/json.js';
import { MODELS, type GenerationParams, type ModelName } from '../core/models.js';
import { QUALITIES, SIZE, type ModelPrice, type PriceTable, type Quality } from '../core/priceTable.js';
import type { Settings } from '../platform/settings.js';

// What an image costs, by the price table (core/priceTable.ts: its format, prices.json or
// PRICE_TABLE). Before a call the estimate is the most the request can cost; after it, the cost
// comes from the service's `usage`, or from the table where the answer has none. Amounts are whole
// nano-USD, so that sums are exact.

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

export type Cost =
  | { basis: 'usage' | 'table'; nanoUsd: number; tableVersion: string }
  | ({ basis: 'unpriced'; tableVersion: string } & Unpriced);

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
  cost(
    model: ModelName,
    generation: { usage?: JsonObject; output: Made; params: GenerationParams; images: number },
  ): Cost {
    const price = this.table.models[model];
    if (!price) return { basis: 'unpriced', tableVersion: this.version, ...this.unpriced(model) };
    const used = price.billing === 'per_token' ? usageTokens(generation.usage) : undefined;
    if (price.billing === 'per_token' && used) {
      const rates = price.usd_per_million_tokens;
      return {
        basis: 'usage',
        tableVersion: this.version,
        nanoUsd: nano(used.text * rates.text_input + used.image * rates.image_input + used.output * rates.image_output),
      };
    }
    const size = [generation.output.size, generation.params.size].find(isSize);
    const quality = qualityOf(generation.output.quality) ?? qualityOf(generation.params.quality) ?? 'high';
    const image = imagePrice(price, size, quality);
    if (!image) return { basis: 'unpriced', tableVersion: this.version, ...this.unpriced(model, size) };
    const promptTokens = Buffer.byteLength(generation.params.prompt, 'utf8');
    return {
      basis: 'table',
      tableVersion: this.version,
      nanoUsd: promptNano(price, promptTokens) + generation.images * image.nanoUsd,
    };
  }

  private unpriced(model: ModelName, size?: string): Unpriced {
    if (size === undefined)
      return { unpriced: true, missing: 'model', reason: `the price table ${this.version} has no price for ${model}` };
    return {
      unpriced: true,
      missing: 'size',
      reason: `the price table ${this.version} has no price for ${model} at ${size}`,
    };
  }
}

/** One image's price at a size (undefined: `auto`, priced at the dearest size it may become). */
function imagePrice(price: ModelPrice, size: string | undefined, quality: Quality): ImagePrice | undefined {
  if (size === undefined) {
    const candidates = (price.auto_sizes ?? listedSizes(price)).map((s) => imagePrice(price, s, quality));
    return candidates.reduce<ImagePrice | undefined>(
      (dearest, c) => (c && (!dearest || c.nanoUsd > dearest.nanoUsd) ? c : dearest),
      undefined,
    );
  }
  if (price.billing === 'per_image') {
    const usdPerImage = price.usd_per_image[size]?.[quality];
    return usdPerImage === undefined ? undefined : { size, nanoUsd: Math.round(usdPerImage * 1e9) };
  }
  const tokens = price.output_tokens_formula
    ? calculatorTokens(size, price.output_tokens_formula.quality_factor[quality])
    : price.output_tokens?.[size]?.[quality];
  return tokens === undefined
    ? undefined
    : { size, tokens, nanoUsd: nano(tokens * price.usd_per_million_tokens.image_output) };
}

const listedSizes = (price: ModelPrice) =>
  Object.keys(price.billing === 'per_image' ? price.usd_per_image : (price.output_tokens ?? {}));

/** The prompt's text tokens at the text rate; a per-image price has none. */
const promptNano = (price: ModelPrice, promptTokens: number) =>
  price.billing === 'per_token' ? nano(promptTokens * price.usd_per_million_tokens.text_input) : 0;

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
export const usdText = (nanoUsd: number): string =>
  `$${usd(nanoUsd)
    .toFixed(6)
    .replace(/\.?0+$/, '')}`;

const isSize = (size: unknown): size is string => typeof size === 'string' && SIZE.test(size);

const qualityOf = (quality: unknown): Quality | undefined =>
  (QUALITIES as readonly unknown[]).includes(quality) ? (quality as Quality) : undefined;

/** Tokens by kind from a usage object; undefined when it says nothing usable of the output. */
function usageTokens(usage: JsonObject | undefined): { text: number; image: number; output: number } | undefined {
  const count = (value: unknown) =>
    typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
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
  return {
    usd: usd(Math.round(cost.nanoUsd / Math.max(1, images))),
    ...(images > 1 && { generation_usd: usd(cost.nanoUsd) }),
    basis: cost.basis,
    table_version: cost.tableVersion,
  };
}

/** A request the table cannot price, admitted by ALLOW_UNPRICED_MODELS: held at the operator's default estimate per image. */
export interface DefaultEstimate extends Unpriced {
  nanoUsd: number;
  images: number;
}

/** An estimate as the estimate route answers it. */
export function estimateJson(estimate: Estimate | Unpriced | DefaultEstimate, tableVersion: string): JsonObject {
  if ('unpriced' in estimate) {
    return {
      unpriced: true,
      reason: estimate.reason,
      table_version: tableVersion,
      ...('nanoUsd' in estimate && { usd: usd(estimate.nanoUsd), basis: 'default', images: estimate.images }),
    };
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

export interface DeploymentPrice {
  deployment: string;
  model: string;
  table_version: string;
  /** per_token or per_image; absent when the table has no price for the model. */
  billing?: string;
  warning?: string;
}

/**
 * Whether the price table prices what each deployment can make. A gap is a warning, not a refused
 * setting: the requests it concerns are refused one by one (403 PriceNotFound), or held at the
 * operator's default, while every other deployment keeps serving.
 */
export function deploymentPrices(
  settings: Pick<
    Settings,
    'AZURE_OPENAI_DEPLOYMENTS' | 'PRICE_TABLE' | 'ALLOW_UNPRICED_MODELS' | 'UNPRICED_IMAGE_ESTIMATE_USD'
  >,
): DeploymentPrice[] {
  const table = settings.PRICE_TABLE;
  const prices = new Prices(table);
  const then = settings.ALLOW_UNPRICED_MODELS
    ? `served (ALLOW_UNPRICED_MODELS), holding ${usdText(Math.round((settings.UNPRICED_IMAGE_ESTIMATE_USD ?? 0) * 1e9))} per image on the budgets, and recorded as unpriced`
    : 'refused with 403 PriceNotFound before Azure OpenAI is called (ALLOW_UNPRICED_MODELS is off)';
  return [...settings.AZURE_OPENAI_DEPLOYMENTS].map(([deployment, model]) => {
    const price = table.models[model];
    const entry: DeploymentPrice = {
      deployment,
      model,
      table_version: table.version,
      ...(price && { billing: price.billing }),
    };
    const size = MODELS[model].rules.size;
    let gap: string | undefined;
    if (!price) gap = `model ${model} has no price in the price table ${table.version}`;
    else if (size.kind === 'list') {
      const missing = size.values.filter(
        (s) => s !== 'auto' && 'unpriced' in prices.estimate(model, { prompt: '', n: 1, size: s }),
      );
      if (missing.length > 0)
        gap = `the price table ${table.version} has no price for ${model} at ${missing.join(', ')}`;
    } else if (price.billing === 'per_image' || !price.output_tokens_formula) {
      gap = `the price table ${table.version} prices ${model} only at the sizes it lists, not every size the model takes`;
    }
    if (gap) entry.warning = `Deployment ${deployment}: ${gap}; such requests are ${then}.`;
    return entry;
  });
}
