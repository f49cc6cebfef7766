// The image models Azure OpenAI runs, written from the project's contract
// (docs/azure-openai-contract.md, 2026-11-26, output tokens as of 2026-12-02), never from src/: the emulator stands in for Azure,
// so a wrong limit in the app's own table must make a test fail, not pass twice.

export type Quality = 'low' | 'medium' | 'high';
export type OutputFormat = 'png' | 'jpeg';

export interface ModelRules {
  /** The model version Azure deploys. */
  version: string;
  /** The last day Azure serves it (YYYY-MM-DD). */
  retires: string;
  /** `auto` included where the model takes it. */
  qualities: readonly (Quality | 'auto')[];
  /** What the model makes when the request names no quality. */
  defaultQuality: Quality;
  /** Why the model cannot make a width x height image, or undefined when it can. */
  refuseSize(width: number, height: number): string | undefined;
  /** Output tokens one image of this size and quality costs. */
  outputTokens(width: number, height: number, quality: Quality): number;
}

// Rules every current model shares (the contract's "same" column).
/** Counted in UTF-16 code units (JS `.length`), the stricter of the ways a service may count
 * characters: an emoji is two units but one code point, so whatever the emulator accepts, a service
 * counting code points accepts too, and a too-long prompt never slips through in tests. */
export const PROMPT_MAX_LENGTH = 32_000;
export const MAX_IMAGES = 10;
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['png', 'jpeg']; // no webp on Azure
export const BACKGROUNDS = ['transparent', 'opaque', 'auto'] as const;
export const MAX_PARTIAL_IMAGES = 3;
/** JPEG quality when output_compression is left out. */
export const DEFAULT_COMPRESSION = 100;
/** What `size: auto` and `quality: auto` make: the contract does not say; these are the common case. */
export const AUTO_SIZE = { width: 1024, height: 1024 } as const;
export const AUTO_QUALITY: Quality = 'medium';
/** dall-e-3 fields: gpt-image models answer 400 unknown_parameter rather than ignore them. */
export const REFUSED_FIELDS = ['response_format', 'style'] as const;
/** The oldest dated api-version that knows gpt-image models. */
export const GPT_IMAGE_MIN_API_VERSION = '2025-04-01-preview';

/** Output tokens per image for gpt-image-1-mini and gpt-image-1.5, by size then quality (the contract's table). */
const TOKEN_TABLE: Record<string, Record<Quality, number>> = {
  '1024x1024': { low: 272, medium: 1056, high: 4160 },
  '1024x1536': { low: 408, medium: 1584, high: 6240 },
  '1536x1024': { low: 400, medium: 1568, high: 6208 },
};
const LISTED_SIZES = Object.keys(TOKEN_TABLE);

const gptImage1Family = (version: string, retires: string): ModelRules => ({
  version,
  retires,
  qualities: ['low', 'medium', 'high', 'auto'],
  defaultQuality: 'high',
  refuseSize: (width, height) =>
    LISTED_SIZES.includes(`${width}x${height}`)
      ? undefined
      : `Supported values are: ${['auto', ...LISTED_SIZES].map((s) => `'${s}'`).join(', ')}.`,
  outputTokens: (width, height, quality) => TOKEN_TABLE[`${width}x${height}`][quality],
});

const GPT_IMAGE_2_SIZE = {
  edgeMultiple: 16,
  maxEdge: 3840,
  maxAspect: 3,
  minPixels: 655_360,
  maxPixels: 8_294_400,
} as const;

/** gpt-image-2 makes any size within these rules; the answer names the rule a size breaks. */
function refuseGptImage2Size(width: number, height: number): string | undefined {
  const { edgeMultiple, maxEdge, maxAspect, minPixels, maxPixels } = GPT_IMAGE_2_SIZE;
  const long = Math.max(width, height);
  const pixels = width * height;
  if (width % edgeMultiple !== 0 || height % edgeMultiple !== 0)
    return `Both edges must be multiples of ${edgeMultiple} pixels.`;
  if (long > maxEdge) return `The long edge must be at most ${maxEdge} pixels.`;
  if (long > maxAspect * Math.min(width, height)) return `The aspect ratio must be at most ${maxAspect}:1.`;
  if (pixels < minPixels) return `The image must have at least ${minPixels} pixels; ${width}x${height} has ${pixels}.`;
  if (pixels > maxPixels) return `The image must have at most ${maxPixels} pixels; ${width}x${height} has ${pixels}.`;
  return undefined;
}

/**
 * gpt-image-2 does not follow the table: its output tokens follow the formula behind OpenAI's price
 * calculator, as the contract (2026-12-02) gives it. Quality factor q; s = round(q × short edge /
 * long edge); tokens = ceil(q × s × (2,000,000 + W × H) / 4,000,000). 1024x1024 low is 196 tokens,
 * 1536x1024 high 5,488, 1792x1024 high 5,063.
 */
const CALCULATOR_QUALITY_FACTOR: Record<Quality, number> = { low: 16, medium: 48, high: 96 };

function calculatorOutputTokens(width: number, height: number, quality: Quality): number {
  const q = CALCULATOR_QUALITY_FACTOR[quality];
  const s = Math.round((q * Math.min(width, height)) / Math.max(width, height));
  return Math.ceil((q * s * (2_000_000 + width * height)) / 4_000_000);
}

const gptImage2: ModelRules = {
  version: '2026-04-21',
  retires: '2027-10-21',
  qualities: ['low', 'medium', 'high'],
  // The contract names no default for gpt-image-2; the family's default is high.
  defaultQuality: 'high',
  refuseSize: refuseGptImage2Size,
  outputTokens: calculatorOutputTokens,
};

export const MODELS = {
  'gpt-image-1-mini': gptImage1Family('2025-10-06', '2027-04-07'),
  'gpt-image-1.5': gptImage1Family('2025-12-16', '2027-06-16'),
  'gpt-image-2': gptImage2,
} as const satisfies Record<string, ModelRules>;

export type ModelName = keyof typeof MODELS;

/** Models Azure no longer runs, with the day each was retired: deployments of them fail. */
const RETIRED_MODELS: Readonly<Record<string, string>> = {
  'dall-e-3': '2026-03-04',
  'gpt-image-1': '2026-10-23',
};

/** The model a deployment may run; a RangeError for a retired or unknown one, as Azure refuses to deploy it. */
export function checkModel(deployment: string, model: string): ModelName {
  if (Object.hasOwn(MODELS, model)) return model as ModelName;
  const retired = RETIRED_MODELS[model];
  if (retired !== undefined) {
    throw new RangeError(
      `Deployment ${deployment}: model ${model} was retired on ${retired}; Azure no longer runs it (use one of ${Object.keys(MODELS).join(', ')})`,
    );
  }
  throw new RangeError(`Deployment ${deployment}: unknown model ${model} (known: ${Object.keys(MODELS).join(', ')})`);
}
