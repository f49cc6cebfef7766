// Azure's image models in one table: what each accepts, its version and where it is in its
// lifecycle. A new model is one entry here. Retired models stay as request dialects only: a request
// that names one is validated by its own rules, then served by a current model (translate.ts).
// Sources: Learn's model retirement schedule and the images API reference, summed up in the
// project's Azure OpenAI contract (docs/azure-openai-contract.md).

/** What a request may say about size: a list of values, or a rule that explains each refusal. */
export type SizeRule =
  | { kind: 'list'; values: readonly [string, ...string[]] }
  | { kind: 'rule'; describe: string; check: (size: string) => string | undefined };

export interface ModelRules {
  /** The longest prompt, in UTF-16 code units: the stricter of the ways a service may count. */
  promptMaxLength: number;
  /** How many images one request may ask for. */
  n: { max: number };
  size: SizeRule;
  defaultSize: string;
  qualities: readonly [string, ...string[]];
  /** Absent where the service picks when none is sent. */
  defaultQuality?: string;
  /** DALL·E 3 only; absent where the model takes no style. */
  styles?: readonly [string, ...string[]];
  defaultStyle?: string;
  /** Formats the caller may pick for the answer; absent where the service always answers b64_json. */
  responseFormats?: readonly ['url' | 'b64_json', ...('url' | 'b64_json')[]];
  /** Image file formats the caller may pick; absent where the service always makes PNG. */
  outputFormats?: readonly [string, ...string[]];
  backgrounds?: readonly [string, ...string[]];
  /** Server-sent events with up to this many partial images; absent where the model cannot stream. */
  partialImagesMax?: number;
}

/** A request's parameters in a model's terms, every default filled in: the record says exactly what was asked. */
export interface GenerationParams {
  prompt: string;
  n: number;
  size: string;
  quality?: string;
  style?: string;
  response_format?: 'url' | 'b64_json';
  output_format?: string;
  output_compression?: number;
  background?: string;
  stream?: boolean;
  partial_images?: number;
  user?: string;
}

export type Lifecycle =
  | { stage: 'ga' | 'preview'; /** YYYY-MM-DD */ retires: string }
  | { stage: 'retired'; /** YYYY-MM-DD */ retired: string };

export interface ImageModel {
  /** The model version Bicep deploys. */
  version: string;
  lifecycle: Lifecycle;
  rules: ModelRules;
}

const GPT_IMAGE_2_SIZE = {
  edgeMultiple: 16,
  maxEdge: 3840,
  maxAspect: 3,
  minPixels: 655_360,
  maxPixels: 8_294_400,
} as const;

/** gpt-image-2 takes any size within its rules; the message names the rule a size breaks. */
export function checkGptImage2Size(size: string): string | undefined {
  if (size === 'auto') return undefined;
  const match = /^([1-9]\d{0,5})x([1-9]\d{0,5})$/.exec(size);
  if (!match) return "must be 'auto' or WIDTHxHEIGHT in pixels, such as 1536x1024";
  const [width, height] = [Number(match[1]), Number(match[2])];
  const { edgeMultiple, maxEdge, maxAspect, minPixels, maxPixels } = GPT_IMAGE_2_SIZE;
  const long = Math.max(width, height);
  const short = Math.min(width, height);
  if (width % edgeMultiple !== 0 || height % edgeMultiple !== 0)
    return `both edges must be multiples of ${edgeMultiple} (${width}x${height})`;
  if (long > maxEdge) return `the long edge must be at most ${maxEdge} pixels (${long})`;
  if (long > maxAspect * short)
    return `the aspect ratio must be at most ${maxAspect}:1 (${(long / short).toFixed(2)}:1)`;
  if (width * height < minPixels)
    return `must have at least ${minPixels.toLocaleString('en-US')} pixels (${(width * height).toLocaleString('en-US')})`;
  if (width * height > maxPixels)
    return `must have at most ${maxPixels.toLocaleString('en-US')} pixels (${(width * height).toLocaleString('en-US')})`;
  return undefined;
}

const dallE3: ModelRules = {
  promptMaxLength: 4000,
  n: { max: 1 },
  size: { kind: 'list', values: ['1024x1024', '1792x1024', '1024x1792'] },
  defaultSize: '1024x1024',
  qualities: ['standard', 'hd'],
  defaultQuality: 'standard',
  styles: ['vivid', 'natural'],
  defaultStyle: 'vivid',
  responseFormats: ['url', 'b64_json'],
};

/** gpt-image-1, -1-mini and -1.5 share their rules. */
const gptImage1Family: ModelRules = {
  promptMaxLength: 32000,
  n: { max: 10 },
  size: { kind: 'list', values: ['1024x1024', '1536x1024', '1024x1536', 'auto'] },
  defaultSize: 'auto',
  qualities: ['low', 'medium', 'high', 'auto'],
  defaultQuality: 'auto',
  outputFormats: ['png', 'jpeg'],
  backgrounds: ['transparent', 'opaque', 'auto'],
  partialImagesMax: 3,
};

const gptImage2: ModelRules = {
  ...gptImage1Family,
  size: {
    kind: 'rule',
    describe:
      "'auto', or WIDTHxHEIGHT with both edges multiples of 16, the long edge at most 3840, an aspect ratio at most 3:1 and 655,360 to 8,294,400 pixels",
    check: checkGptImage2Size,
  },
  qualities: ['low', 'medium', 'high'],
  defaultQuality: undefined,
};

export const MODELS = {
  'dall-e-3': { version: '3.0', lifecycle: { stage: 'retired', retired: '2026-03-04' }, rules: dallE3 },
  'gpt-image-1': {
    version: '2025-04-15',
    lifecycle: { stage: 'retired', retired: '2026-10-23' },
    rules: gptImage1Family,
  },
  'gpt-image-1-mini': {
    version: '2025-10-06',
    lifecycle: { stage: 'ga', retires: '2027-04-07' },
    rules: gptImage1Family,
  },
  'gpt-image-1.5': { version: '2025-12-16', lifecycle: { stage: 'ga', retires: '2027-06-16' }, rules: gptImage1Family },
  'gpt-image-2': { version: '2026-04-21', lifecycle: { stage: 'ga', retires: '2027-10-21' }, rules: gptImage2 },
} as const satisfies Record<string, ImageModel>;

export type ModelName = keyof typeof MODELS;

export const MODEL_NAMES = Object.keys(MODELS) as [ModelName, ...ModelName[]];

export function isModelName(name: string): name is ModelName {
  return Object.hasOwn(MODELS, name);
}

export const isRetired = (model: ModelName): boolean => MODELS[model].lifecycle.stage === 'retired';

/** Models that can be deployed and called today. */
export const CURRENT_MODELS = MODEL_NAMES.filter((m) => !isRetired(m));

/** The date a model stops (or stopped) working. */
export function retirementDate(model: ModelName): string {
  const lifecycle: Lifecycle = MODELS[model].lifecycle;
  return lifecycle.stage === 'retired' ? lifecycle.retired : lifecycle.retires;
}

/** Days from `now` until the model retires; zero or less once it has. */
export function daysUntilRetirement(model: ModelName, now: Date): number {
  return Math.ceil((Date.parse(`${retirementDate(model)}T00:00:00Z`) - now.getTime()) / 86_400_000);
}

/** Whether a size is one the model accepts; a message naming the broken rule when it is not. */
export function sizeProblem(rules: ModelRules, size: string): string | undefined {
  if (rules.size.kind === 'rule') return rules.size.check(size);
  return rules.size.values.includes(size) ? undefined : `must be one of ${rules.size.values.join(', ')}`;
}

/**
 * The model behind each deployment, and which deployment serves a request that names none or names
 * a retired model. Settings produce it (AZURE_OPENAI_DEPLOYMENTS and the two defaults); the contract
 * modules read only this.
 */
export interface Deployments {
  AZURE_OPENAI_DEPLOYMENTS: ReadonlyMap<string, ModelName>;
  AZURE_OPENAI_DEFAULT_DEPLOYMENT: string;
  AZURE_OPENAI_SUCCESSOR_DEPLOYMENT: string;
}
