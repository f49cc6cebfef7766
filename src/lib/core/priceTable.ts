import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CURRENT_MODELS, isModelName, isRetired, type ModelName } from './models.js';
import shipped from './prices.json';

// The price table's format, and the loader that settings use: configuration (prices.json, shipped;
// or PRICE_TABLE), each model billed one of two ways: per token (USD per 1M tokens by kind; an
// image's output tokens from a table by size and quality, or from a named formula), or per image
// (USD by size and quality, DALL·E style). What an image then costs is cost/pricing.ts's to say.

export const QUALITIES = ['low', 'medium', 'high'] as const;
export type Quality = (typeof QUALITIES)[number];
export const SIZE = /^([1-9]\d{0,4})x([1-9]\d{0,4})$/;

const tokens = z.int().positive();
const size = z.string().regex(SIZE, 'must be WIDTHxHEIGHT');
const byQuality = <T extends z.ZodType>(value: T) => z.strictObject({ low: value, medium: value, high: value });
const bySize = <T extends z.ZodType>(row: T) =>
  z.record(size, row).refine((sizes) => Object.keys(sizes).length > 0, 'must list at least one size');

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
    usd_per_million_tokens: z.strictObject({
      text_input: z.number().min(0),
      image_input: z.number().min(0),
      image_output: z.number().positive(),
    }),
    output_tokens: bySize(byQuality(tokens)).optional(),
    output_tokens_formula: tokenFormula.optional(),
    scale_other_sizes_from: z
      .undefined({
        error:
          'is no longer taken: scaling by pixel area overestimates gpt-image-2 2 to 4 times; give output_tokens_formula instead',
      })
      .optional(),
  })
  .superRefine((price, ctx) => {
    const ways = [price.output_tokens, price.output_tokens_formula].filter((w) => w !== undefined).length;
    if (ways !== 1)
      ctx.addIssue({
        code: 'custom',
        path: ['output_tokens'],
        message: 'give either output_tokens (a table by size) or output_tokens_formula, exactly one',
      });
    if (price.output_tokens_formula && !price.auto_sizes)
      ctx.addIssue({
        code: 'custom',
        path: ['auto_sizes'],
        message: "must list the sizes 'auto' may become when output tokens come from a formula",
      });
  });

const perImage = z.strictObject({
  ...described,
  billing: z.literal('per_image'),
  usd_per_image: bySize(byQuality(z.number().positive())),
});

/** `billing` defaults to per_token: tables written before it existed still load. */
const modelPrice = z.preprocess(
  (value) =>
    typeof value === 'object' && value !== null && !Array.isArray(value) && !('billing' in value)
      ? { ...value, billing: 'per_token' }
      : value,
  z.discriminatedUnion('billing', [perToken, perImage]),
);

const priceTableSchema = z.strictObject({
  version: z.string().min(1),
  description: z.string().optional(),
  models: z.record(z.string(), modelPrice).superRefine((models, ctx) => {
    for (const name of Object.keys(models)) {
      if (!isModelName(name) || isRetired(name))
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: `is not a model this app serves (${CURRENT_MODELS.join(', ')})`,
        });
    }
  }),
});

export type ModelPrice = z.infer<typeof perToken> | z.infer<typeof perImage>;
export type PriceTable = Omit<z.infer<typeof priceTableSchema>, 'models'> & {
  models: Partial<Record<ModelName, ModelPrice>>;
};

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
