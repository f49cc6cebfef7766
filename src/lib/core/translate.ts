import { MODELS, sizeProblem, type GenerationParams, type ModelName } from './models.js';

// A request written for a retired model (DALL·E 3, gpt-image-1), restated for the current model
// that serves it. The translation table in docs/api.md describes these rules; each has a test.

/** DALL·E 3's qualities in gpt-image terms. */
const QUALITY: Record<string, string> = { standard: 'medium', hd: 'high' };

export function serveOn(params: GenerationParams, served: ModelName): GenerationParams {
  const rules = MODELS[served].rules;
  const out: GenerationParams = { prompt: params.prompt, n: params.n, size: servedSize(params.size, served) };
  const quality = params.quality === undefined ? undefined : (QUALITY[params.quality] ?? params.quality);
  // gpt-image-1's `auto` quality, where the served model has none: the service picks, as auto meant.
  if (quality !== undefined && rules.qualities.includes(quality)) out.quality = quality;
  // style and response_format are DALL·E 3's alone: style stays in the record, and every answer has our url.
  if (rules.outputFormats && params.output_format !== undefined) out.output_format = params.output_format;
  if (params.output_compression !== undefined) out.output_compression = params.output_compression;
  if (rules.backgrounds && params.background !== undefined) out.background = params.background;
  if (rules.partialImagesMax !== undefined && params.stream !== undefined) {
    out.stream = params.stream;
    if (params.partial_images !== undefined)
      out.partial_images = Math.min(params.partial_images, rules.partialImagesMax);
  }
  if (params.user !== undefined) out.user = params.user;
  return out;
}

/** The size as asked where the served model makes it; else its size of the same orientation. */
function servedSize(size: string, served: ModelName): string {
  const rules = MODELS[served].rules;
  if (!sizeProblem(rules, size)) return size;
  if (rules.size.kind === 'rule') return 'auto';
  const orientation = (s: string) => {
    const [w = 0, h = 0] = s.split('x').map(Number);
    return Math.sign(w - h);
  };
  return (
    rules.size.values.find((candidate) => candidate !== 'auto' && orientation(candidate) === orientation(size)) ??
    rules.defaultSize
  );
}
