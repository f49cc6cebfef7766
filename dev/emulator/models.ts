// The emulator's own copy of the model rules (to be rewritten from the contract), never src/lib's.

export interface ModelRules {
  /** The largest prompt, in characters. */
  promptMaxLength: number;
  /** How many images one request may ask for. */
  n: { max: number };
  sizes: readonly [string, ...string[]];
  defaultSize: string;
  qualities: readonly [string, ...string[]];
  defaultQuality: string;
  /** dall-e-3 only; absent where the model takes no style. */
  styles?: readonly [string, ...string[]];
  defaultStyle?: string;
  /** Formats the caller may pick for the answer; absent where the service always answers b64_json. */
  responseFormats?: readonly ['url' | 'b64_json', ...('url' | 'b64_json')[]];
  /** Image file formats the caller may pick (gpt-image); absent where the service always makes PNG. */
  outputFormats?: readonly [string, ...string[]];
  backgrounds?: readonly [string, ...string[]];
  /** Whether the service reports token `usage` (gpt-image family). */
  reportsUsage: boolean;
}

const dallE3: ModelRules = {
  promptMaxLength: 4000,
  n: { max: 1 },
  sizes: ['1024x1024', '1792x1024', '1024x1792'],
  defaultSize: '1024x1024',
  qualities: ['standard', 'hd'],
  defaultQuality: 'standard',
  styles: ['vivid', 'natural'],
  defaultStyle: 'vivid',
  responseFormats: ['url', 'b64_json'],
  reportsUsage: false,
};

const gptImage: ModelRules = {
  promptMaxLength: 32000,
  n: { max: 10 },
  sizes: ['1024x1024', '1536x1024', '1024x1536', 'auto'],
  defaultSize: 'auto',
  qualities: ['low', 'medium', 'high', 'auto'],
  defaultQuality: 'auto',
  outputFormats: ['png', 'jpeg'],
  backgrounds: ['transparent', 'opaque', 'auto'],
  reportsUsage: true,
};

export const MODELS = {
  'dall-e-3': dallE3,
  'gpt-image-1': gptImage,
  'gpt-image-1-mini': gptImage,
  'gpt-image-1.5': gptImage,
} as const satisfies Record<string, ModelRules>;

export type ModelName = keyof typeof MODELS;

export const MODEL_NAMES = Object.keys(MODELS) as [ModelName, ...ModelName[]];

export function isModelName(name: string): name is ModelName {
  return Object.hasOwn(MODELS, name);
}
